// Buttons marked data-print open the browser's print dialog. A file of its own: the pages' policy
// (Content-Security-Policy script-src 'self') runs no inline handler such as onclick="window.print()".
document.addEventListener("click", function (event) {
  var button = event.target.closest ? event.target.closest("[data-print]") : null;
  if (button) window.print();
});
