// Small page behaviours, no framework: copy buttons, the wrap toggle, and live regions that poll
// their own URL until the work they show (an analysis, a build index) is finished.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var copy = event.target.closest("button.copy");
    if (copy) {
      var source = document.getElementById(copy.dataset.copy);
      var done = function () { copy.textContent = "copied"; setTimeout(function () { copy.textContent = "copy"; }, 1500); };
      if (navigator.clipboard && source) {
        navigator.clipboard.writeText(source.textContent).then(done, function () { copy.textContent = "copy failed"; });
      }
      return;
    }
    var wrap = event.target.closest("button.wrap-toggle");
    if (wrap) {
      var on = wrap.getAttribute("aria-pressed") !== "true";
      wrap.setAttribute("aria-pressed", on ? "true" : "false");
      document.body.classList.toggle("wrap-lines", on);
    }
  });

  // <div data-poll="URL"> is replaced by what URL returns every few seconds while it still says data-poll.
  function poll(element) {
    var url = element.dataset.poll;
    setTimeout(function () {
      fetch(url, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" })
        .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.text(); })
        .then(function (html) {
          var holder = document.createElement("div");
          holder.innerHTML = html.trim();
          var fresh = holder.firstElementChild;
          element.replaceWith(fresh);
          if (fresh.dataset.poll) { poll(fresh); }
        })
        .catch(function () { poll(element); });
    }, Number(element.dataset.every || 2000));
  }
  document.querySelectorAll("[data-poll]").forEach(poll);
})();
