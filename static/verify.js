// Checks, on the consumer's own phone, that this batch's registration is in the signed ledger:
// leaf hash from the entry's RFC 8785 bytes, the RFC 6962 audit path up to the checkpoint's root,
// and the checkpoint's Ed25519 signature (C2SP signed note) against the verifier key in the page.
// WebCrypto only; no other code is loaded.
(function () {
  "use strict";
  recordScan(document.getElementById("scans"));
  var box = document.getElementById("ledger-proof");
  if (!box) return;
  var utf8 = new TextEncoder();

  function concat(parts) {
    var length = parts.reduce(function (n, p) { return n + p.length; }, 0);
    var out = new Uint8Array(length), at = 0;
    parts.forEach(function (p) { out.set(p, at); at += p.length; });
    return out;
  }
  function sha256(parts) {
    return crypto.subtle.digest("SHA-256", concat(parts)).then(function (d) { return new Uint8Array(d); });
  }
  function unhex(text) {
    if (typeof text !== "string" || !/^[0-9a-f]{64}$/.test(text)) throw new Error("bad hash");
    var out = new Uint8Array(32);
    for (var i = 0; i < 32; i++) out[i] = parseInt(text.substr(2 * i, 2), 16);
    return out;
  }
  function unbase64(text) {
    var bin = atob(text);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  function equal(a, b) {
    if (a.length !== b.length) return false;
    var diff = 0;
    for (var i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
    return diff === 0;
  }

  // RFC 8785: object keys sorted by UTF-16 code units (the default sort), no whitespace; strings and
  // numbers serialized as ECMAScript's JSON.stringify does.
  function canonical(value) {
    if (Array.isArray(value)) return "[" + value.map(canonical).join(",") + "]";
    if (value !== null && typeof value === "object") {
      return "{" + Object.keys(value).sort().map(function (k) {
        return JSON.stringify(k) + ":" + canonical(value[k]);
      }).join(",") + "}";
    }
    if (typeof value === "number" && !isFinite(value)) throw new Error("not JSON");
    return JSON.stringify(value);
  }

  // RFC 9162 section 2.1.3.2: the root an audit path leads to.
  function rootFromPath(index, size, leaf, path) {
    if (!(index >= 0 && index < size)) return Promise.reject(new Error("index outside the tree"));
    var fn = index, sn = size - 1, r = Promise.resolve(leaf);
    path.forEach(function (p) {
      r = r.then(function (hash) {
        if (sn === 0) throw new Error("path too long");
        var step;
        if (fn % 2 === 1 || fn === sn) {
          step = sha256([new Uint8Array([1]), p, hash]);
          if (fn % 2 === 0) { while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); } }
        } else {
          step = sha256([new Uint8Array([1]), hash, p]);
        }
        fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
        return step;
      });
    });
    return r.then(function (hash) {
      if (sn !== 0) throw new Error("path too short");
      return hash;
    });
  }

  // C2SP signed-note verifier key: <name>+<hex key id>+<base64(0x01 || Ed25519 public key)>.
  function parseKey(text) {
    var first = text.indexOf("+"), second = text.indexOf("+", first + 1);  // base64 may hold "+" too
    if (first < 1 || second < 0) throw new Error("bad key");
    var raw = unbase64(text.slice(second + 1));
    if (raw.length !== 33 || raw[0] !== 1) throw new Error("not an Ed25519 key");
    return {name: text.slice(0, first), id: text.slice(first + 1, second), publicKey: raw.slice(1)};
  }

  // C2SP tlog-checkpoint in a signed note: "<origin>\n<size>\n<base64 root>\n[extensions]\n— <name> <base64 sig>\n".
  function verifyCheckpoint(note, key) {
    var split = note.indexOf("\n\n");
    if (split < 0) return Promise.reject(new Error("no signature"));
    var text = note.slice(0, split + 1);
    var lines = text.split("\n");
    var origin = lines[0], size = Number(lines[1]), root = unbase64(lines[2]);
    if (origin !== key.name) return Promise.reject(new Error("another log"));
    if (!/^[0-9]+$/.test(lines[1]) || root.length !== 32) return Promise.reject(new Error("bad checkpoint"));
    var signatures = note.slice(split + 2).split("\n").filter(function (l) { return l.indexOf("\u2014 " + key.name + " ") === 0; });
    if (signatures.length === 0) return Promise.reject(new Error("not signed by the key"));
    var blob = unbase64(signatures[0].split(" ")[2]);
    if (blob.length !== 68) return Promise.reject(new Error("bad signature"));
    var keyIdInput = concat([utf8.encode(key.name + "\n"), new Uint8Array([1]), key.publicKey]);
    return sha256([keyIdInput]).then(function (digest) {
      var hexId = Array.prototype.map.call(digest.slice(0, 4), function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
      if (!equal(blob.slice(0, 4), digest.slice(0, 4)) || hexId !== key.id) throw new Error("another key");
      return crypto.subtle.importKey("raw", key.publicKey, {name: "Ed25519"}, false, ["verify"]);
    }).then(function (publicKey) {
      return crypto.subtle.verify({name: "Ed25519"}, publicKey, blob.slice(4), utf8.encode(text));
    }).then(function (valid) {
      if (!valid) throw new Error("signature does not verify");
      return {size: size, root: root};
    });
  }

  function show(status, sentence) {
    box.setAttribute("data-status", status);
    box.querySelector(".proof-text").textContent = sentence;
  }

  function check(response) {
    var proof = response.proof;
    if (!proof) throw new Error("no proof yet");
    var entry = proof.entry;
    if (entry.seq !== proof.seq || entry.subject !== "batch:" + box.getAttribute("data-code")) {
      throw new Error("the entry is about another record");
    }
    var key = parseKey(box.getAttribute("data-key"));
    var path = proof.proof.map(unhex);
    return verifyCheckpoint(proof.checkpoint, key).then(function (checkpoint) {
      var leafInput = concat([new Uint8Array([0]), utf8.encode(canonical(entry))]);
      return sha256([leafInput]).then(function (leaf) {
        return rootFromPath(proof.seq, checkpoint.size, leaf, path);
      }).then(function (root) {
        if (!equal(root, checkpoint.root)) throw new Error("root mismatch");
        return {seq: proof.seq, size: checkpoint.size};
      });
    });
  }

  if (!window.crypto || !crypto.subtle) {
    show("unsupported", box.getAttribute("data-unsupported"));
    return;
  }
  fetch(box.getAttribute("data-json"), {headers: {Accept: "application/json"}})
    .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
    .then(check)
    .then(function (result) {
      show("verified", box.getAttribute("data-verified").replace("{seq}", result.seq).replace("{size}", result.size));
    }, function (error) {
      var unsupported = error && (error.name === "NotSupportedError");
      show(unsupported ? "unsupported" : "failed", box.getAttribute(unsupported ? "data-unsupported" : "data-failed"));
      if (window.console) console.warn("ledger proof:", error);
    });

  // The page writes nothing when it is fetched (so any cache may keep it): its scan is this POST,
  // made when the page is shown. The answer fills in the scan sentence and the warning, if any.
  function recordScan(line) {
    if (!line || !window.fetch) return;
    fetch(line.getAttribute("data-url"), {method: "POST", headers: {Accept: "application/json"},
                                         credentials: "same-origin", cache: "no-store"})
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(function (answer) {
        var text = answer.first_scan
          ? line.getAttribute("data-first").replace("{time}", localTime(answer.first_scan)).replace("{n}", answer.count)
          : line.getAttribute("data-none");
        var signedIn = line.getAttribute("data-signed-in");
        line.textContent = signedIn ? text + " " + signedIn : text;
        if (answer.notice) {
          var alert = document.createElement("strong");
          alert.className = "alert";
          alert.textContent = answer.notice;
          line.appendChild(document.createTextNode(" "));
          line.appendChild(alert);
        }
        line.setAttribute("data-count", String(answer.count));
        line.hidden = false;
      }, function (error) {
        if (window.console) console.warn("scan:", error);
      });
  }

  // "2026-08-05T14:03:00+08:00" -> "2026-08-05 14:03 (UTC+8)", as the server writes local times.
  function localTime(text) {
    var m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(?::\d{2}(?:\.\d+)?)?(Z|([+-])(\d{2}):(\d{2}))$/.exec(text);
    if (!m) return text;
    var zone = "UTC";
    if (m[3] !== "Z" && (m[5] !== "00" || m[6] !== "00")) {
      zone = "UTC" + m[4] + String(Number(m[5])) + (m[6] !== "00" ? ":" + m[6] : "");
    }
    return m[1] + " " + m[2] + " (" + zone + ")";
  }
})();
