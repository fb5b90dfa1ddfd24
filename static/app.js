// Progressive enhancement only: every page works without this file.
// After htmx swaps in a fragment with an error, focus the first error so it is announced.
document.addEventListener("htmx:afterSwap", function (e) {
  var target = e.detail.target, status = (e.detail.xhr || {}).status;  // htmx.swap: no xhr
  if (status === 409) {
    var panel = document.querySelector(".conflict-panel");
    if (panel) { panel.focus(); }
    return;
  }
  if (!target || status !== 422) { return; }
  var invalid = target.querySelector("[aria-invalid='true'], .error");
  if (invalid && typeof invalid.focus === "function") {
    if (!invalid.hasAttribute("tabindex") && !/INPUT|SELECT|TEXTAREA|BUTTON/.test(invalid.tagName)) {
      invalid.setAttribute("tabindex", "-1");
    }
    invalid.focus();
  }
});

// A refused autosave comes back as the field's status line (role=alert). Mark the field's inputs invalid until an
// answer is accepted, so a screen reader says "invalid" and reads the error (aria-describedby) with them.
// (After settling: before, htmx keeps the old line's attributes.)
document.addEventListener("htmx:afterSettle", function (e) {
  var status = e.target;
  if (!status || !status.classList || !status.classList.contains("save-status")) { return; }
  var block = status.closest(".field-block");
  if (!block) { return; }
  var invalid = status.classList.contains("error");
  block.classList.toggle("has-error", invalid);
  block.querySelectorAll(own + ", select").forEach(function (input) {  // own: below
    if (invalid) { input.setAttribute("aria-invalid", "true"); } else { input.removeAttribute("aria-invalid"); }
  });
});

// Live co-editing: a partner's change replaces a field unless the person changed it (inputs differ from what
// was rendered or last saved) or settles a conflict there. Focus alone is no change. Held back, it lands when
// the box is as shown again; until then the page takes no new `seen` token to sign.
var own = "input:not([type=hidden]), textarea";
function changed(box) {
  return [].some.call(box.querySelectorAll(own), function (i) {
    return /checkbox|radio/.test(i.type) ? i.checked !== i.defaultChecked : i.value !== i.defaultValue;
  });
}
var sent = new WeakMap();
document.addEventListener("htmx:beforeRequest", function (e) {
  var box = e.detail.elt;
  if (box.classList.contains("field-block")) {
    sent.set(box, [].map.call(box.querySelectorAll(own), function (i) {
      return [i, i.value, i.checked];
    }));
  }
});
document.addEventListener("htmx:afterRequest", function (e) {
  var box = e.detail.elt, values = sent.get(box);
  sent.delete(box);
  if (!values || e.detail.xhr.status !== 200) { return; }
  values.forEach(function (v) { v[0].defaultValue = v[1]; v[0].defaultChecked = v[2]; });
  if (box.held && box.isConnected && !changed(box)) { htmx.swap(box, box.held, { swapStyle: "outerHTML" }); }
});
document.addEventListener("htmx:oobBeforeSwap", function (e) {
  var target = e.detail.target, list = target.classList;
  if (list.contains("field-block") && (list.contains("has-conflict") || changed(target))) {
    e.detail.shouldSwap = false;
    target.held = e.detail.fragment.firstElementChild.outerHTML;
    list.add("partner-changed");
    var status = target.querySelector(".save-status");
    if (status) { status.textContent = "Your partner changed this too. When you save, you will see both versions."; }
  } else if (list.contains("live-part")) {  // e.g. the signing panel
    if (changed(target) || document.querySelector(".partner-changed") && e.detail.fragment.querySelector("[name=seen]")) {
      e.detail.shouldSwap = false; return;
    }
    target.querySelectorAll("details[open][id]").forEach(function (open) {
      var again = e.detail.fragment.querySelector("#" + open.id);
      if (again) { again.open = true; }
    });
  }
});

// A refused htmx request (409, 404, 500) is not swapped (responseHandling in base.html): show the server's error
// panel in the page's status area, or the click seems to do nothing. DOMParser runs no scripts.
document.addEventListener("htmx:responseError", function (e) {
  var flash = document.getElementById("flash");
  var xhr = e.detail.xhr;
  if (!flash || !xhr || !xhr.responseText) { return; }
  var panel = new DOMParser().parseFromString(xhr.responseText, "text/html").querySelector(".error-panel");
  if (!panel) { return; }
  flash.replaceChildren(document.importNode(panel, true));
  flash.scrollIntoView({ block: "nearest" });
});

// Presence: a closing agreement page says so at once (CSRF token in the form: a beacon sends no headers).
window.addEventListener("pagehide", function () {
  var presence = document.getElementById("presence");
  var token = document.querySelector("meta[name='csrf-token']");
  if (!presence || !token || !presence.dataset.leaveUrl || !navigator.sendBeacon) { return; }
  var form = new FormData();
  form.append("csrf_token", token.content);
  navigator.sendBeacon(presence.dataset.leaveUrl, form);
});
