// Pickers instead of codes (templates/_pickers.html). Each picker keeps what the server stores (a region
// code, an organization id, a brand slug) in a hidden input under the field's name and shows a name in
// the text box, an ARIA 1.2 combobox: type, move with the arrow keys, choose with Enter, close with Esc.
// Typed text that was not chosen from the list is posted as it is; the server resolves a name or refuses
// it beside the field. Without this script the text box itself is posted (a code or a name).
(function () {
  "use strict";
  if (window.tracePickers) return; // the macros load this file once per picker
  window.tracePickers = true;

  var DELAY = 150; // ms of quiet typing before asking the server

  function fetchItems(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : { items: [] }; })
      .then(function (body) { return body.items || []; })
      .catch(function () { return []; });
  }

  function withParams(base, params) {
    var url = new URL(base, window.location.href);
    Object.keys(params).forEach(function (k) { url.searchParams.set(k, params[k]); });
    return url.toString();
  }

  // One combobox: `search(text)` resolves to [{value, label, detail, item}], `choose(option)` applies one.
  function Combobox(box, search, choose) {
    var input = box.querySelector("input[role=combobox]");
    var list = box.querySelector("[role=listbox]");
    var status = box.querySelector(".picker-status");
    var hidden = document.createElement("input");
    var options = [], active = -1, timer = null, asked = 0;

    hidden.type = "hidden";
    hidden.name = input.name;
    hidden.value = box.dataset.value || input.value;
    input.removeAttribute("name");
    input.removeAttribute("list"); // this list replaces the browser's datalist
    input.after(hidden);
    if (box.dataset.text && box.dataset.value) input.value = box.dataset.text.split(" · ")[0];
    var current = box.querySelector(".picker-current");
    if (current) current.hidden = true;

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }
    function highlight(index) {
      var items = list.querySelectorAll("[role=option]");
      items.forEach(function (li, i) { li.setAttribute("aria-selected", i === index ? "true" : "false"); });
      active = index;
      if (index >= 0 && items[index]) {
        input.setAttribute("aria-activedescendant", items[index].id);
        items[index].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }
    function show(found) {
      options = found;
      list.textContent = "";
      found.forEach(function (option, i) {
        var li = document.createElement("li");
        li.id = list.id + "-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        li.dataset.value = option.value;
        var main = document.createElement("span");
        main.textContent = option.label;
        li.appendChild(main);
        if (option.detail) {
          var small = document.createElement("small");
          small.textContent = option.detail;
          li.appendChild(small);
        }
        // mousedown, not click: keep the focus in the box so blur does not close the list first
        li.addEventListener("mousedown", function (event) { event.preventDefault(); pick(i); });
        list.appendChild(li);
      });
      status.textContent = found.length ? (box.dataset.found || "{n}").replace("{n}", found.length)
        : box.dataset.none || "";
      if (found.length) {
        list.hidden = false;
        input.setAttribute("aria-expanded", "true");
        highlight(-1);
      } else {
        close();
      }
    }
    function pick(index) {
      var option = options[index];
      if (!option) return;
      hidden.value = option.value;
      input.value = option.label;
      close();
      box.dispatchEvent(new CustomEvent("picker:chosen", { detail: option }));
      if (choose) choose(option);
    }
    function ask() {
      var text = input.value.trim();
      var number = ++asked;
      if (!text && !box.dataset.listAll) { close(); return; }
      search(text).then(function (found) { if (number === asked) show(found); });
    }

    input.addEventListener("input", function () {
      hidden.value = input.value.trim(); // not chosen: the server resolves the text or refuses it
      box.dispatchEvent(new CustomEvent("picker:typed"));
      clearTimeout(timer);
      timer = setTimeout(ask, DELAY);
    });
    input.addEventListener("keydown", function (event) {
      var open = !list.hidden && options.length;
      if (event.key === "ArrowDown") {
        event.preventDefault();
        if (!open) { ask(); return; }
        highlight(Math.min(active + 1, options.length - 1));
      } else if (event.key === "ArrowUp") {
        if (!open) return;
        event.preventDefault();
        highlight(Math.max(active - 1, 0));
      } else if (event.key === "Enter") {
        if (open && active >= 0) { event.preventDefault(); pick(active); }
        else if (open && options.length === 1) { event.preventDefault(); pick(0); }
      } else if (event.key === "Escape") {
        if (open) { event.preventDefault(); close(); }
      }
    });
    input.addEventListener("blur", function () { setTimeout(close, 100); });

    return {
      set: function (value, label) { hidden.value = value; input.value = label; close(); },
      open: ask,
      input: input,
      hidden: hidden,
    };
  }

  // -- regions: type-ahead plus 省 → 市 → 县 selects ---------------------------------------------
  function regionPicker(box) {
    var source = box.dataset.source;
    var cascade = box.querySelector(".picker-cascade");
    var selects = Array.prototype.slice.call(cascade.querySelectorAll("select"));
    var combo;

    function search(text) {
      return fetchItems(withParams(source, { q: text })).then(function (items) {
        return items.map(function (r) {
          return { value: r.code, label: r.full_name, detail: r.code + " · " + r.pinyin, item: r };
        });
      });
    }
    function fill(select, items, chosen) {
      select.textContent = "";
      var blank = document.createElement("option");
      blank.value = "";
      blank.textContent = box.dataset.choose || "—";
      select.appendChild(blank);
      items.forEach(function (r) {
        var option = document.createElement("option");
        option.value = r.code;
        option.textContent = r.name;
        option.dataset.fullName = r.full_name;
        option.dataset.level = r.level;
        option.dataset.children = r.has_children ? "1" : "";
        if (r.code === chosen) option.selected = true;
        select.appendChild(option);
      });
      select.closest("label").hidden = items.length === 0;
    }
    function slot(level) {
      return selects.filter(function (s) { return s.dataset.level === level; })[0];
    }
    // Show the children of `code` in the next select down; a province's county-level children (the
    // municipalities' districts) skip the city select.
    function load(code, after, chosen) {
      var below = selects.slice(selects.indexOf(after) + 1);
      below.forEach(function (s) { fill(s, [], null); });
      if (!code || !below.length) return Promise.resolve();
      return fetchItems(withParams(source, { parent: code })).then(function (items) {
        if (!items.length) return;
        var allCounties = items.every(function (r) { return r.level === "county"; });
        var target = allCounties && slot("county") ? slot("county") : below[0];
        if (selects.indexOf(target) < 0) return;
        fill(target, items, chosen);
      });
    }
    function chosenOf(select) {
      var option = select.options[select.selectedIndex];
      return option && option.value ? option : null;
    }
    selects.forEach(function (select) {
      select.addEventListener("change", function () {
        var option = chosenOf(select);
        if (option) {
          combo.set(option.value, option.dataset.fullName);
          if (option.dataset.children) load(option.value, select, null);
          else selects.slice(selects.indexOf(select) + 1).forEach(function (s) { fill(s, [], null); });
        } else {
          var above = selects.slice(0, selects.indexOf(select)).map(chosenOf).filter(Boolean).pop();
          combo.set(above ? above.value : "", above ? above.dataset.fullName : "");
          selects.slice(selects.indexOf(select) + 1).forEach(function (s) { fill(s, [], null); });
        }
      });
    });
    // Set the selects to a path of codes from the province down.
    function follow(path) {
      fill(selects[0], provinces, path[0] || null);
      selects.slice(1).forEach(function (s) { fill(s, [], null); });
      var step = Promise.resolve();
      path.forEach(function (code, i) {
        step = step.then(function () {
          var holder = selects.filter(function (s) {
            return Array.prototype.some.call(s.options, function (o) { return o.value === code; });
          })[0];
          if (!holder) return null;
          return load(code, holder, path[i + 1] || null);
        });
      });
      return step;
    }
    var provinces = [];
    combo = Combobox(box, search, function (option) { follow(option.item.path); });
    fetchItems(source).then(function (items) {
      provinces = items;
      cascade.hidden = false;
      follow((box.dataset.path || "").split(",").filter(Boolean));
    });
  }

  // -- organizations ---------------------------------------------------------------------------
  function organizationPicker(box) {
    Combobox(box, function (text) {
      return fetchItems(withParams(box.dataset.source, { q: text })).then(function (items) {
        return items.map(function (o) {
          return { value: String(o.id), label: o.name,
                   detail: [o.kind_label, o.region_name, o.uscc].filter(Boolean).join(" · "), item: o };
        });
      });
    });
  }

  // -- brands: the licensed list given with the page, or the directory's search -----------------
  function brandPicker(box) {
    var licensed = Array.prototype.map.call(box.querySelectorAll(".picker-licensed li"), function (li) {
      return { value: li.dataset.slug, label: li.dataset.name, detail: li.querySelector("small").textContent };
    });
    var source = box.dataset.source;
    function search(text) {
      if (source) {
        return fetchItems(withParams(source, { q: text })).then(function (items) {
          return items.map(function (b) { return { value: b.slug, label: b.name, detail: b.slug }; });
        });
      }
      var needle = text.toLowerCase();
      return Promise.resolve(licensed.filter(function (b) {
        return b.label.indexOf(text) >= 0 || b.value.indexOf(needle) >= 0 || b.value.replace(/-/g, "").indexOf(needle) >= 0;
      }));
    }
    if (!source && licensed.length) box.dataset.listAll = "1";
    var combo = Combobox(box, search);
    if (!source) {
      // an empty box offers the whole (short) licensed list on focus
      combo.input.addEventListener("focus", function () {
        if (!combo.input.value.trim() && licensed.length) combo.open();
      });
      box.querySelectorAll(".picker-licensed li").forEach(function (li) {
        li.addEventListener("click", function () { combo.set(li.dataset.slug, li.dataset.name); });
      });
    }
  }

  var kinds = { region: regionPicker, organization: organizationPicker, brand: brandPicker };
  function start() {
    document.querySelectorAll("[data-picker]").forEach(function (box) {
      if (box.dataset.enhanced) return;
      box.dataset.enhanced = "1";
      kinds[box.dataset.picker](box);
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
