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

// Live co-editing: a partner's change replaces a field unless the person changed it (what is in its inputs
// differs from what the page was rendered with or what their last accepted save sent) or is settling a conflict
// there. Merely having the focus is no change: the box then takes the partner's value (htmx keeps the focus).
// A held-back field's own save then meets the newer version and shows the conflict view, so nothing is lost.
function ownInputs(container) {
  return container.querySelectorAll("input:not([type=hidden]), textarea, select");
}
function isChanged(input) {
  if (input.type === "checkbox" || input.type === "radio") { return input.checked !== input.defaultChecked; }
  if (input.tagName === "SELECT") {
    return Array.prototype.some.call(input.options, function (option) {
      return option.selected !== option.defaultSelected;
    });
  }
  return input.value !== input.defaultValue;
}
function hasChanges(container) {
  return Array.prototype.some.call(ownInputs(container), isChanged);
}
// What each autosave sent: once the server accepts it, that is the field's "unchanged" state.
var sentValues = new WeakMap();
document.addEventListener("htmx:beforeRequest", function (event) {
  var block = event.detail.elt;
  if (!block || !block.classList || !block.classList.contains("field-block")) { return; }
  sentValues.set(block, Array.prototype.map.call(ownInputs(block), function (input) {
    return [input, input.type === "checkbox" || input.type === "radio" ? input.checked : input.value];
  }));
});
document.addEventListener("htmx:afterRequest", function (event) {
  var block = event.detail.elt;
  var sent = block && sentValues.get(block);
  if (!sent) { return; }
  sentValues.delete(block);
  if (!event.detail.successful || event.detail.xhr.status !== 200) { return; }
  sent.forEach(function (entry) {
    var input = entry[0];
    if (input.type === "checkbox" || input.type === "radio") { input.defaultChecked = entry[1]; }
    else if (input.tagName !== "SELECT") { input.defaultValue = entry[1]; }
  });
});
document.addEventListener("htmx:oobBeforeSwap", function (event) {
  var target = event.detail.target;
  if (!target || !target.classList) { return; }
  if (target.classList.contains("field-block")) {
    if (target.classList.contains("has-conflict") || hasChanges(target)) {
      event.detail.shouldSwap = false;
      target.classList.add("partner-changed");
      var status = target.querySelector(".save-status");
      if (status) { status.textContent = "Your partner changed this too. When you save, you will see both versions."; }
    }
  } else if (target.classList.contains("live-part")) {
    // The signing panel and the like: never wipe what the person is typing there (a name, a reason).
    if (hasChanges(target)) {
      event.detail.shouldSwap = false;
      return;
    }
    var fragment = event.detail.fragment;
    target.querySelectorAll("details[open][id]").forEach(function (open) {
      var replacement = fragment && fragment.querySelector && fragment.querySelector("#" + open.id);
      if (replacement) { replacement.open = true; }
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
