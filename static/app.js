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

// Live co-editing: a partner's change replaces a field unless the person changed it (inputs differ from what
// was rendered or last saved) or settles a conflict there. Focus alone is no change.
var own = "input:not([type=hidden]), textarea";
function changed(box) {
  return [].some.call(box.querySelectorAll(own), function (i) {
    return /checkbox|radio/.test(i.type) ? i.checked !== i.defaultChecked : i.value !== i.defaultValue;
  });
}
var sent = new WeakMap();
document.addEventListener("htmx:beforeRequest", function (event) {
  var box = event.detail.elt;
  if (box.classList.contains("field-block")) {
    sent.set(box, [].map.call(box.querySelectorAll(own), function (i) {
      return [i, i.value, i.checked];
    }));
  }
});
document.addEventListener("htmx:afterRequest", function (event) {
  var values = sent.get(event.detail.elt);
  sent.delete(event.detail.elt);
  if (!values || event.detail.xhr.status !== 200) { return; }
  values.forEach(function (v) { v[0].defaultValue = v[1]; v[0].defaultChecked = v[2]; });
});
document.addEventListener("htmx:oobBeforeSwap", function (event) {
  var target = event.detail.target, list = target.classList;
  if (list.contains("field-block") && (list.contains("has-conflict") || changed(target))) {
    event.detail.shouldSwap = false;
    list.add("partner-changed");
    var status = target.querySelector(".save-status");
    if (status) { status.textContent = "Your partner changed this too. When you save, you will see both versions."; }
  } else if (list.contains("live-part")) {  // e.g. the signing panel
    if (changed(target)) { event.detail.shouldSwap = false; return; }
    target.querySelectorAll("details[open][id]").forEach(function (open) {
      var again = event.detail.fragment.querySelector("#" + open.id);
      if (again) { again.open = true; }
    });
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

// Presence: a closing agreement page says so at once (a form with the CSRF token: a beacon sends no headers).
window.addEventListener("pagehide", function () {
  var presence = document.getElementById("presence");
  var token = document.querySelector("meta[name='csrf-token']");
  if (!presence || !token || !presence.dataset.leaveUrl || !navigator.sendBeacon) { return; }
  var form = new FormData();
  form.append("csrf_token", token.content);
  navigator.sendBeacon(presence.dataset.leaveUrl, form);
});
