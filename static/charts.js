// Draws every <figure class="chart"> from the JSON its template embedded (json_script), with the
// vendored Chart.js: axes with titles, tooltips, stacked series with a legend.
(function () {
  "use strict";
  function draw(figure) {
    var spec = JSON.parse(document.getElementById(figure.dataset.chart).textContent);
    var canvas = figure.querySelector("canvas");
    var fails = spec.datasets[0] && spec.datasets[0].fail_runs;
    new Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets: spec.datasets },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false,
        datasets: { bar: { maxBarThickness: 48 } },
        plugins: {
          legend: { display: spec.datasets.length > 1, position: "bottom" },
          title: { display: false },
          tooltip: { callbacks: fails ? { afterLabel: function (item) { return "fail:runs " + fails[item.dataIndex]; } } : {} }
        },
        scales: {
          x: { stacked: !!spec.stacked, title: { display: true, text: spec.x }, ticks: { maxRotation: 60, autoSkip: true } },
          y: { stacked: !!spec.stacked, beginAtZero: true, max: spec.max, title: { display: true, text: spec.y },
               ticks: { precision: 0 } }
        }
      }
    });
    figure.dataset.drawn = "1";
  }
  function start() {
    if (typeof Chart === "undefined") { return; }
    document.querySelectorAll("figure.chart[data-chart]:not([data-drawn])").forEach(draw);
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
