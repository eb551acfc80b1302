/* Draws the dashboard's charts with Chart.js from the JSON the page carries (#dashboard-charts).
 * Values arrive as decimal strings; numbers are formatted with Intl in the page's language (fa gets
 * Persian digits), and in right-to-left pages the axes, legends and tooltips are mirrored. */
(function () {
  "use strict";
  var source = document.getElementById("dashboard-charts");
  if (!source || typeof Chart === "undefined") { return; }
  var specs = JSON.parse(source.textContent);
  var root = document.documentElement;
  var lang = root.lang || "en";
  var rtl = root.dir === "rtl";
  var palette = ["#0f766e", "#d97706", "#2563eb", "#be185d", "#65a30d", "#7c3aed", "#0891b2", "#b91c1c",
                 "#4d7c0f", "#a16207", "#1d4ed8", "#9d174d"];

  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = "#3d4550";

  function number(value) { return value === null || value === undefined ? null : Number(value); }

  function formatter(spec) {
    var options;
    if (spec.unit === "money" && spec.currency) {
      options = { style: "currency", currency: spec.currency, maximumFractionDigits: 0 };
    } else if (spec.unit === "percent") {
      options = { style: "percent", maximumFractionDigits: 1 };
    } else if (spec.unit === "decimal") {
      options = { maximumFractionDigits: 1 };
    } else {
      options = { maximumFractionDigits: 0 };
    }
    var format = new Intl.NumberFormat(lang, options);
    return function (value) { return format.format(spec.unit === "percent" ? value / 100 : value); };
  }

  // A label wider than about a sixth of the chart is split at spaces into lines (Chart.js draws arrays
  // as lines), so that on a phone the bars keep every label whole.
  function wrap(label, width) {
    var text = String(label);
    var limit = Math.max(8, Math.floor(width / 6 / 6.5));
    if (text.length <= limit || text.indexOf(" ") < 0) { return text; }
    var lines = [];
    text.split(" ").forEach(function (word) {
      var last = lines.length - 1;
      if (last >= 0 && (lines[last] + " " + word).length <= limit) { lines[last] += " " + word; } else { lines.push(word); }
    });
    return lines;
  }

  function datasets(spec) {
    return spec.series.map(function (series, index) {
      var colour = palette[index % palette.length];
      var data = series.data.map(function (value) {
        return Array.isArray(value) ? value.map(number) : number(value);
      });
      var dataset = { label: series.label, data: data, borderColor: colour, backgroundColor: colour };
      var partial = series.partial || [];
      dataset.partial = partial;
      if (spec.kind === "line") {
        dataset.backgroundColor = colour + "33";
        dataset.tension = 0;
        dataset.spanGaps = false;
        dataset.pointRadius = 2;
        if (partial.length) {  // a month not over yet: dashed line into it, hollow point
          dataset.segment = { borderDash: function (context) {  // either end: the data runs leftwards in rtl
            return partial[context.p0DataIndex] || partial[context.p1DataIndex] ? [5, 4] : undefined; } };
          dataset.pointBackgroundColor = data.map(function (_, i) { return partial[i] ? "#fff" : colour; });
        }
      } else if (partial.length) {  // a month not over yet: a lighter bar with a dashed edge
        dataset.backgroundColor = data.map(function (_, i) { return partial[i] ? colour + "55" : colour; });
        dataset.borderWidth = data.map(function (_, i) { return partial[i] ? 1.5 : 0; });
      }
      if (series.floating) {  // a range bar and a value bar, told apart by colour
        dataset.backgroundColor = data.map(function (_, i) { return i === 0 ? "#c7d2dc" : palette[0]; });
        dataset.borderColor = dataset.backgroundColor;
      }
      return dataset;
    });
  }

  // Right to left, time and categories run leftwards.  Chart.js's reverse option would do it, but it
  // then pads the wrong side for the edge labels (they were cut off in Hebrew): the data is turned
  // round instead, and the axis runs as usual.
  function mirrored(spec) {
    var copy = Object.assign({}, spec);
    copy.labels = spec.labels.slice().reverse();
    copy.series = spec.series.map(function (series) {
      var turned = Object.assign({}, series, { data: series.data.slice().reverse() });
      if (series.partial) { turned.partial = series.partial.slice().reverse(); }
      return turned;
    });
    return copy;
  }

  function draw(canvas) {
    var spec = specs.filter(function (item) { return item.id === canvas.dataset.chart; })[0];
    if (!spec) { return null; }
    if (rtl && !spec.horizontal) { spec = mirrored(spec); }
    var format = formatter(spec);
    var horizontal = Boolean(spec.horizontal);
    var valueAxis = horizontal ? "x" : "y";
    var categoryAxis = horizontal ? "y" : "x";
    var scales = {};
    scales[valueAxis] = {
      beginAtZero: true, stacked: spec.stacked, ticks: { callback: function (value) { return format(value); } },
      // mirrored in right-to-left pages: values grow leftwards / the axis stands on the right
      reverse: rtl && horizontal, position: horizontal ? "bottom" : (rtl ? "right" : "left"),
    };
    scales[categoryAxis] = {
      stacked: spec.stacked, position: horizontal ? (rtl ? "right" : "left") : "bottom",
      // long labels wrap instead of being skipped
      ticks: { autoSkip: true, maxRotation: 0,
               callback: function (value) { return wrap(this.getLabelForValue(value), this.chart.width); } },
    };
    var multiple = spec.series.length > 1;
    return new Chart(canvas, {
      type: spec.kind === "line" ? "line" : "bar",
      data: { labels: spec.labels, datasets: datasets(spec) },
      options: {
        locale: lang,
        indexAxis: horizontal ? "y" : "x",
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: scales,
        plugins: {
          title: { display: false, text: spec.title },
          legend: { display: multiple, rtl: rtl, textDirection: rtl ? "rtl" : "ltr",
                    align: "start", labels: { boxWidth: 12 } },
          tooltip: {
            rtl: rtl, textDirection: rtl ? "rtl" : "ltr",
            callbacks: {
              label: function (item) {
                var raw = item.raw;
                var text = Array.isArray(raw) ? format(raw[0]) + " – " + format(raw[1]) : format(item.parsed[valueAxis]);
                if ((item.dataset.partial || [])[item.dataIndex] && spec.partial_note) {
                  text += " (" + spec.partial_note + ")";
                }
                return (item.dataset.label ? item.dataset.label + ": " : "") + text;
              },
            },
          },
        },
      },
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("canvas[data-chart]"), draw);
})();
