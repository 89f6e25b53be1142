// The draft submission page: attaching, re-noting and removing evidence happen in place. Each
// form is sent as usual; the answer (the page again) replaces only the element concerned and the
// coverage line, and the outcome is announced there, so the worker keeps their place. Without
// JavaScript the forms reload the page at the element.
(function () {
  'use strict';
  var selector = '.attach-form, .note-form, form[action$="/remove"]';

  function announce(section, text, ok) {
    var p = section.querySelector('.element-status');
    if (!p) {
      p = document.createElement('p');
      p.className = 'element-status';
      p.setAttribute('role', 'status');
      section.insertBefore(p, section.children[1] || null);
    }
    p.className = 'element-status flash ' + (ok ? 'flash-success' : 'flash-error');
    p.textContent = text;
  }

  function swap(doc, section) {
    var fresh = doc.getElementById(section.id);
    if (fresh) { section.replaceWith(fresh); section = fresh; }
    var coverage = document.getElementById('coverage');
    var freshCoverage = doc.getElementById('coverage');
    if (coverage && freshCoverage) { coverage.replaceWith(freshCoverage); }
    var missing = document.getElementById('missing');
    var freshMissing = doc.getElementById('missing');
    if (missing && freshMissing) { missing.replaceWith(freshMissing); }
    else if (missing) { missing.remove(); }
    return section;
  }

  document.addEventListener('submit', function (event) {
    var form = event.target;
    if (!form.matches || !form.matches(selector)) { return; }
    var section = form.closest('section.element');
    if (!section || !window.fetch || !window.DOMParser) { return; }
    event.preventDefault();
    var button = form.querySelector('button[type=submit]');
    if (button) { button.disabled = true; }
    fetch(form.action, { method: 'POST', body: new FormData(form), credentials: 'same-origin' })
      .then(function (resp) { return resp.text().then(function (html) { return [resp, html]; }); })
      .then(function (pair) {
        var doc = new DOMParser().parseFromString(pair[1], 'text/html');
        var flash = doc.querySelector('.flashes .flash');
        var ok = pair[0].ok && !(flash && flash.classList.contains('flash-error'));
        var fresh = swap(doc, section);
        announce(fresh, flash ? flash.textContent : (ok ? 'Saved.' : 'That did not work; reload the page.'), ok);
        var focusTarget = fresh.querySelector('h3');
        if (focusTarget) { focusTarget.setAttribute('tabindex', '-1'); focusTarget.focus({ preventScroll: true }); }
      })
      .catch(function () {
        if (button) { button.disabled = false; }
        announce(section, 'No connection: nothing was changed. Try again.', false);
      });
  });
}());
