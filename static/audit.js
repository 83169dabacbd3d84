// The audit desk: follows a running full verification by polling its state
// (GET /audit/verification/<id>.json) and shows the progress bar and then the result.
(function () {
  "use strict";
  var run = document.querySelector(".verify-run");
  var bar = document.getElementById("verify-progress");
  var result = document.getElementById("verify-result");
  if (!run || !bar || !result || run.getAttribute("data-status") !== "running") return;
  var count = document.getElementById("verify-count");
  var button = document.getElementById("verify-start");
  var delay = 500;

  function show(state) {
    var total = Math.max(state.total, 1);
    bar.max = total;
    bar.value = state.status === "running" ? Math.min(state.entries_checked, total) : total;
    if (count) count.textContent = state.entries_checked + " / " + state.total;
    var p = document.createElement("p");
    p.textContent = state.message;
    result.replaceChildren(p);
    if (state.status === "running") return false;
    var label = document.createElement("strong");
    label.textContent = state.label;
    p.prepend(label, " · ");
    var problems = (state.result && state.result.problems) || [];
    if (problems.length) {
      var list = document.createElement("ol");
      list.className = "problems";
      problems.forEach(function (line) {
        var item = document.createElement("li"), code = document.createElement("code");
        code.textContent = line;
        item.appendChild(code);
        list.appendChild(item);
      });
      result.appendChild(list);
    }
    result.setAttribute("data-status", state.status);
    run.setAttribute("data-status", state.status);
    var finished = document.getElementById("verify-finished");
    if (finished && state.finished_at) finished.textContent = state.finished_at;
    if (button) button.disabled = false;
    return true;
  }

  function poll() {
    fetch(run.getAttribute("data-url"), { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (state) {
        delay = 500;
        if (!show(state)) setTimeout(poll, delay);
      })
      .catch(function () {
        delay = Math.min(delay * 2, 10000);  // the server is busy or restarting: try again, less often
        setTimeout(poll, delay);
      });
  }
  poll();
})();
