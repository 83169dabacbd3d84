// The front door's camera scan: shown only where the browser has its own barcode reader
// (BarcodeDetector) and a camera API; everywhere else the page is the plain form. A code found is
// put in the field and the form submitted, so the server decides what it names, as for a typed code.
(function () {
  "use strict";
  var form = document.getElementById("code-search");
  var start = document.getElementById("scan-start");
  if (!form || !start) return;
  if (!("BarcodeDetector" in window) || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return;
  var box = document.getElementById("scanner");
  var video = document.getElementById("scan-video");
  var status = document.getElementById("scan-status");
  var input = document.getElementById("code");
  var stream = null, timer = null, detector = null;

  function say(key) { status.textContent = status.getAttribute("data-" + key); }

  function release() {
    if (timer) clearTimeout(timer);
    timer = null;
    if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
    stream = null;
    video.srcObject = null;
    start.hidden = false;
  }

  function look() {
    detector.detect(video).then(function (found) {
      var hit = found.filter(function (c) { return c.rawValue; })[0];
      if (!hit) { timer = setTimeout(look, 250); return; }
      say("found");
      input.value = hit.rawValue;
      release();
      form.submit();
    }, function () { timer = setTimeout(look, 500); });  // the first frames may not be ready yet
  }

  function open() {
    start.hidden = true;
    box.hidden = false;
    say("starting");
    navigator.mediaDevices.getUserMedia({video: {facingMode: "environment"}, audio: false})
      .then(function (s) { stream = s; video.srcObject = s; return video.play(); })
      .then(function () { say("looking"); look(); }, function () { release(); say("denied"); });
  }

  BarcodeDetector.getSupportedFormats().then(function (formats) {
    if (formats.indexOf("qr_code") < 0) return;
    detector = new BarcodeDetector({formats: ["qr_code"]});
    start.hidden = false;
    start.addEventListener("click", open);
    document.getElementById("scan-stop").addEventListener("click", function () { release(); box.hidden = true; });
  }, function () { /* no reader after all: the form stays as it is */ });
})();
