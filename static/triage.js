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

  function get(url) {
    return fetch(url, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.text(); });
  }

  // When the work is finished, the rest of the page (a log's release, stat keys and build; a build's
  // release, build id and size) changed too: swap in the page's new <main>, without a reload.
  function refresh(url) {
    get(url).then(function (html) {
      var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("main");
      var main = document.querySelector("main");
      if (fresh && main) { main.replaceWith(fresh); }
    }).catch(function () { /* the live region already says it is finished */ });
  }

  // <div data-poll="URL"> is replaced by what URL returns every few seconds while it still says
  // data-poll; then, with data-refresh="PAGE", the page's <main> is fetched again.
  function poll(element) {
    var url = element.dataset.poll, page = element.dataset.refresh;
    setTimeout(function () {
      get(url).then(function (html) {
          var holder = document.createElement("div");
          holder.innerHTML = html.trim();
          var fresh = holder.firstElementChild;
          element.replaceWith(fresh);
          if (fresh.dataset.poll) { poll(fresh); } else if (page) { refresh(page); }
        })
        .catch(function () { poll(element); });
    }, Number(element.dataset.every || 2000));
  }
  document.querySelectorAll("[data-poll]").forEach(poll);
})();
