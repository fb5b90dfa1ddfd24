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

// An htmx request that the server refuses (409 "already published", 404 "no longer there", 500) is not swapped
// (see responseHandling in base.html), so without this the click would seem to do nothing. Show the server's
// error panel in the page's status area instead. DOMParser runs no scripts; only the panel's nodes are moved.
document.addEventListener("htmx:responseError", function (event) {
  var flash = document.getElementById("flash");
  var xhr = event.detail.xhr;
  if (!flash || !xhr || !xhr.responseText) { return; }
  var panel = new DOMParser().parseFromString(xhr.responseText, "text/html").querySelector(".error-panel");
  if (!panel) { return; }
  flash.replaceChildren(document.importNode(panel, true));
  flash.scrollIntoView({ block: "nearest" });
});
