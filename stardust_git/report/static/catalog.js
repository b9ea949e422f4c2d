// The catalog table: search, filters and pages over window.STARDUST_CATALOG (data/catalog.js).
// Every value is set with textContent, never as HTML.
(function () {
  "use strict";
  var PAGE_SIZE = 50;
  var STATE_NAMES = {live: "live", acknowledged: "acknowledged", pending: "pending", held: "held",
    failed: "failed", rejected: "rejected", takendown: "taken down"};
  // row: [upc, title, artist, label index, date, tracks, genre index, thumbnail MD5, ISRCs,
  //       states: "<target index><state letter>[until]" separated by spaces]
  var data = window.STARDUST_CATALOG;
  var codes = {};
  Object.keys(data.states).forEach(function (code) { codes[data.states[code]] = code; });
  var rows = data.rows.map(function (r) {
    var states = r[9] ? r[9].split(" ").map(function (s) {
      var found = /^(\d+)([A-Z])(.*)$/.exec(s);
      return [data.targets[+found[1]], codes[found[2]], found[3]];
    }) : [];
    return [r[0], r[1], r[2], data.labels[r[3]] || "", r[4], r[5], data.genres[r[6]] || "",
      r[7] ? "thumbs/" + r[7] + ".jpg" : "", r[8], states];
  });
  var haystacks = rows.map(function (r) {
    return [r[0], r[1], r[2], r[8]].join("\u0000").toLowerCase();
  });
  var matching = rows;
  var page = 0;
  var el = function (id) { return document.getElementById(id); };

  function stateLabel(state) {
    var name = STATE_NAMES[state[1]] || state[1];
    return state[2] ? name + " until " + state[2] : name;
  }

  function cell(tr, text) {
    var td = document.createElement("td");
    td.textContent = text;
    tr.appendChild(td);
    return td;
  }

  function renderRow(r) {
    var tr = document.createElement("tr");
    tr.dataset.upc = r[0];
    var thumb = cell(tr, "");
    if (r[7]) {
      var img = document.createElement("img");
      img.src = r[7];
      img.alt = "";
      img.width = 48;
      img.height = 48;
      img.loading = "lazy";
      thumb.appendChild(img);
    }
    var title = cell(tr, "");
    var link = document.createElement("a");
    link.href = "releases/" + r[0] + ".html";
    link.textContent = r[1];
    title.appendChild(link);
    var upc = document.createElement("div");
    upc.className = "meta";
    upc.textContent = r[0] + " · " + r[6];
    title.appendChild(upc);
    cell(tr, r[2]);
    cell(tr, r[3]);
    cell(tr, r[4]);
    cell(tr, String(r[5]));
    var states = cell(tr, "");
    r[9].forEach(function (state) {
      var badge = document.createElement("span");
      badge.className = "state state-" + state[1];
      badge.textContent = state[0] + ": " + stateLabel(state);
      states.appendChild(badge);
    });
    return tr;
  }

  function keep(r, i, query, label, target, status, genre) {
    if (query && haystacks[i].indexOf(query) < 0) return false;
    if (label && r[3] !== label) return false;
    if (genre && r[6] !== genre) return false;
    if (!target && !status) return true;
    return r[9].some(function (s) {
      return (!target || s[0] === target) && (!status || s[1] === status);
    });
  }

  function filter() {
    var query = el("search").value.trim().toLowerCase();
    var label = el("filter-label").value, target = el("filter-target").value;
    var status = el("filter-status").value, genre = el("filter-genre").value;
    matching = rows.filter(function (r, i) { return keep(r, i, query, label, target, status, genre); });
    page = 0;
    show();
  }

  function show() {
    var pages = Math.max(1, Math.ceil(matching.length / PAGE_SIZE));
    page = Math.min(page, pages - 1);
    var body = document.createElement("tbody");
    matching.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE).forEach(function (r) {
      body.appendChild(renderRow(r));
    });
    var table = el("catalog");
    table.replaceChild(body, table.tBodies[0]);
    el("count").textContent = matching.length + " of " + rows.length + " releases";
    el("page").textContent = "page " + (page + 1) + " of " + pages;
    el("prev").disabled = page === 0;
    el("next").disabled = page >= pages - 1;
  }

  el("search").addEventListener("input", filter);
  ["filter-label", "filter-target", "filter-status", "filter-genre"].forEach(function (id) {
    el(id).addEventListener("change", filter);
  });
  el("prev").addEventListener("click", function () { page -= 1; show(); });
  el("next").addEventListener("click", function () { page += 1; show(); });
  show();
})();
