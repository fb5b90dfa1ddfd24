// Progressive enhancement only: every page works without this file.
// After htmx swaps in a fragment with an error, move focus to the first error so it is announced.
document.addEventListener("htmx:afterSwap", function (event) {
  var target = event.detail.target;
  if (!target || event.detail.xhr.status !== 422) { return; }
  var invalid = target.querySelector("[aria-invalid='true'], .error");
  if (invalid && typeof invalid.focus === "function") {
    if (!invalid.hasAttribute("tabindex") && !/INPUT|SELECT|TEXTAREA|BUTTON/.test(invalid.tagName)) {
      invalid.setAttribute("tabindex", "-1");
    }
    invalid.focus();
  }
});
