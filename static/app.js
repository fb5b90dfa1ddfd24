// Progressive enhancement only: every page works without this file.
// After htmx swaps in a fragment with an error, move focus to the first error so it is announced.
document.addEventListener("htmx:afterSwap", function (event) {
  var target = event.detail.target;
  if (event.detail.xhr.status === 409) {
    var panel = document.querySelector(".conflict-panel");
    if (panel) { panel.focus(); }
    return;
  }
  if (!target || event.detail.xhr.status !== 422) { return; }
  var invalid = target.querySelector("[aria-invalid='true'], .error");
  if (invalid && typeof invalid.focus === "function") {
    if (!invalid.hasAttribute("tabindex") && !/INPUT|SELECT|TEXTAREA|BUTTON/.test(invalid.tagName)) {
      invalid.setAttribute("tabindex", "-1");
    }
    invalid.focus();
  }
});

// An autosaved answer that is refused comes back as the field's status line (role=alert, so it is announced while
// the person keeps typing). Mark the field's inputs invalid until an answer is accepted, so that a screen reader
// says "invalid" on them and the error is read with them (their aria-describedby names the status line).
// (After settling: until then htmx keeps the old line's attributes on the new one.)
document.addEventListener("htmx:afterSettle", function (event) {
  var status = event.target;
  if (!status || !status.classList || !status.classList.contains("save-status")) { return; }
  var block = status.closest(".field-block");
  if (!block) { return; }
  var invalid = status.classList.contains("error");
  block.classList.toggle("has-error", invalid);
  block.querySelectorAll("input:not([type=hidden]), textarea, select").forEach(function (input) {
    if (invalid) { input.setAttribute("aria-invalid", "true"); } else { input.removeAttribute("aria-invalid"); }
  });
});

// Live co-editing: never replace a field the person is typing in (or has unsaved input in) with the
// partner's version. Their own save then meets the newer version and shows the conflict view, so nothing is
// lost and they choose.
document.addEventListener("input", function (event) {
  var block = event.target.closest && event.target.closest(".field-block");
  if (block) { block.classList.add("is-dirty"); }
});
document.addEventListener("htmx:afterRequest", function (event) {
  var block = event.detail.elt && event.detail.elt.closest && event.detail.elt.closest(".field-block");
  if (block && event.detail.successful) { block.classList.remove("is-dirty"); }
});
document.addEventListener("htmx:oobBeforeSwap", function (event) {
  var target = event.detail.target;
  if (!target || !target.classList || !target.classList.contains("field-block")) { return; }
  if (target.contains(document.activeElement) || target.classList.contains("is-dirty") ||
      target.classList.contains("has-conflict")) {
    event.detail.shouldSwap = false;
    target.classList.add("partner-changed");
    var status = target.querySelector(".save-status");
    if (status) { status.textContent = "Your partner changed this too. When you save, you will see both versions."; }
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
