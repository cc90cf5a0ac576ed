// The scorecard page: sign in with a token, pick a partner (admin) and a month, draw the month.
import { ApiError, gql, token } from "./api.js";
import { histogram, lineChart, metricBar, timeline } from "./charts.js";
import { download, toCsv } from "./csv.js";
import { fill, h, show } from "./dom.js";
import * as f from "./format.js";
import * as Q from "./queries.js";

const MIN_TOTAL = 70; // points to attain
const MIN_METRIC = 1; // points every metric needs

const state = { viewer: null, months: [], partnerId: null, month: null, partner: null, customers: [], forecast: null };

// ---- location: partner and month in the hash (never the token) ----------------------------

function readHash() {
  const p = new URLSearchParams(location.hash.slice(1));
  return { partner: p.get("partner"), month: p.get("month") };
}

function writeHash(partner, month) {
  const p = new URLSearchParams();
  if (partner) p.set("partner", partner);
  if (month) p.set("month", month);
  const next = `#${p}`;
  if (location.hash !== next) location.hash = next;
  else route();
}

function say(text) {
  document.getElementById("status").textContent = text;
}

// ---- tables with a CSV download ----------------------------------------------------------

/**
 * columns: [{label, key, show(r) -> text on screen, csv(r) -> exact value (false: screen only), num, csvOnly}]
 * group(r) -> text: rows are shown under a heading row (tr.group) each time that text changes
 * (screen only; the CSV has one line per row).
 */
function dataTable({ caption, columns: all, rows, csvName, empty, group }) {
  if (!rows.length) return h("p", { class: "empty" }, empty || "Nothing to show.");
  const columns = all.filter((c) => !c.csvOnly);
  const body = [];
  let last = null;
  for (const r of rows) {
    const g = group ? group(r) : null;
    if (group && g !== last) body.push(h("tr", { class: "group" }, h("th", { scope: "rowgroup", colspan: columns.length }, g)));
    last = g;
    body.push(
      h(
        "tr",
        { class: r._cls || null },
        columns.map((c, i) => {
          const v = c.show ? c.show(r) : r[c.key];
          const cell = v instanceof Node ? v : v === null || v === undefined ? "–" : String(v);
          return h(i === 0 ? "th" : "td", { scope: i === 0 ? "row" : null, class: c.num ? "num" : null }, cell);
        }),
      ),
    );
  }
  const table = h(
    "table",
    {},
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col", class: c.num ? "num" : null }, c.label)))),
    h("tbody", {}, body),
  );
  const csvCols = all.filter((c) => c.csv !== false).map((c) => ({ label: c.csvLabel || c.key || c.label, value: c.csv || ((r) => r[c.key]) }));
  const button = h("button", { type: "button", class: "csv", onclick: () => download(csvName, toCsv(csvCols, rows)) }, `Download CSV (${caption})`);
  return h("div", { class: "table-block" }, h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": caption }, table), button);
}

// ---- sign in / out ----------------------------------------------------------------------

async function signIn() {
  say("Signing in…");
  let data;
  try {
    data = await gql(Q.SIGN_IN);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      token.clear();
      signedOut(e.message === "no token" ? "" : "This token is not accepted.");
      return;
    }
    signedOut(e.message);
    return;
  }
  state.viewer = data.viewer;
  state.months = data.months;
  show("signin", false);
  show("session");
  fill("who", data.viewer.admin ? "Signed in as admin" : `Signed in as partner ${data.viewer.partnerId}`);
  if (data.viewer.admin) {
    show("admin");
    loadOverview();
  }
  say("");
  route();
}

function signedOut(message) {
  state.viewer = null;
  show("signin");
  show("session", false);
  show("admin", false);
  show("partner", false);
  show("no-token", !token.get());
  fill("signin-error", message || "");
  say("");
}

// ---- admin: overview and partner search -----------------------------------------------------

async function loadOverview() {
  const target = document.getElementById("overview");
  fill(target, h("p", { class: "loading" }, "Loading the program overview…"));
  try {
    const { programOverview: o } = await gql(Q.OVERVIEW, {});
    if (!o || !o.months.length) {
      fill(target, h("p", { class: "empty" }, "No data yet: no month has been scored."));
      return;
    }
    const month = o.distributionMonth;
    const { designations } = await gql(Q.CLOSEST_MISSES, { month });
    const labels = o.months.map((m) => m.month);
    const misses = designations.nodes.map((n) => ({
      ...n,
      name: n.partner.name,
      enterprise: n.paths.find((p) => p.track === "ENTERPRISE"),
      smb: n.paths.find((p) => p.track === "SMB"),
    }));
    fill(
      target,
      h("h3", {}, "Partners attaining, per track"),
      lineChart({
        labels,
        title: "Partners attaining over the months",
        series: [
          { name: "Attained", values: o.months.map((m) => m.partnersAttained), cls: "score" },
          { name: "Enterprise", values: o.months.map((m) => m.qualifyingEnterprise), cls: "ent" },
          { name: "SMB", values: o.months.map((m) => m.qualifyingSmb), cls: "smb" },
        ],
      }),
      dataTable({
        caption: "Partners per month",
        csvName: "program-months.csv",
        rows: o.months,
        columns: [
          { label: "Month", key: "month", show: (r) => f.monthLabel(r.month) },
          { label: "Scored", key: "partnersScored", num: true, show: (r) => f.count(r.partnersScored) },
          { label: "Attained", key: "partnersAttained", num: true, show: (r) => f.count(r.partnersAttained) },
          { label: "Enterprise qualifies", key: "qualifyingEnterprise", num: true, show: (r) => f.count(r.qualifyingEnterprise) },
          { label: "SMB qualifies", key: "qualifyingSmb", num: true, show: (r) => f.count(r.qualifyingSmb) },
        ],
      }),
      h("h3", {}, `Score distribution, ${f.monthLabel(month)}`),
      histogram({ buckets: o.scoreDistribution, title: `Partners per 10-point score band, ${f.monthLabel(month)}`, threshold: MIN_TOTAL }),
      h("h3", {}, `Closest misses, ${f.monthLabel(month)}`),
      dataTable({
        caption: "Closest misses",
        csvName: `closest-misses-${month}.csv`,
        rows: misses,
        columns: [
          { label: "Partner", key: "partnerId", show: (r) => h("a", { href: `#partner=${encodeURIComponent(r.partnerId)}&month=${month}` }, r.partnerId) },
          { label: "Name", key: "name" },
          { label: "Score", key: "score", num: true, show: (r) => f.points(r.score) },
          { label: "Best track", key: "bestTrack", show: (r) => f.trackName(r.bestTrack) },
          { label: "Enterprise", csvLabel: "enterpriseTotal", num: true, show: (r) => f.points(r.enterprise && r.enterprise.total), csv: (r) => r.enterprise && r.enterprise.total },
          { label: "SMB", csvLabel: "smbTotal", num: true, show: (r) => f.points(r.smb && r.smb.total), csv: (r) => r.smb && r.smb.total },
        ],
      }),
    );
  } catch (e) {
    fill(target, h("p", { class: "error" }, `The overview could not be loaded: ${e.message}`));
  }
}

async function search(text) {
  const list = document.getElementById("search-results");
  fill(list);
  if (!text.trim()) return;
  try {
    const { partnerSearch } = await gql(Q.SEARCH, { text });
    if (!partnerSearch.length) fill(list, h("li", { class: "empty" }, "No partner matches."));
    else
      fill(
        list,
        partnerSearch.map((p) =>
          h("li", {}, h("button", { type: "button", onclick: () => writeHash(p.id, null) }, `${p.id}${p.name ? ` — ${p.name}` : ""}`)),
        ),
      );
  } catch (e) {
    fill(list, h("li", { class: "error" }, e.message));
  }
}

// ---- a partner ---------------------------------------------------------------------------

async function route() {
  if (!state.viewer) return;
  const { partner, month } = readHash();
  const id = partner || state.viewer.partnerId;
  if (!id) {
    show("partner", false);
    return;
  }
  show("partner");
  if (id !== state.partnerId || !state.partner) {
    state.partnerId = id;
    state.partner = null;
    fill("partner-h", id);
    try {
      const { partner: p } = await gql(Q.PARTNER, { id });
      if (!p) return partnerEmpty(id, `No partner ${id} can be read with this token.`);
      state.partner = p;
      // the admin picked another partner: take keyboard and screen to it
      if (state.viewer.admin) setTimeout(() => document.getElementById("partner-h").focus(), 0);
    } catch (e) {
      return partnerEmpty(id, `The partner could not be loaded: ${e.message}`);
    }
  }
  const p = state.partner;
  fill("partner-h", p.name ? `${p.name} (${p.id})` : p.id);
  const latest = p.trend.months[p.trend.months.length - 1] || state.months[state.months.length - 1] || null;
  state.month = month || latest;
  const select = document.getElementById("month");
  const options = [...new Set([...state.months, ...p.trend.months])].sort().reverse();
  fill(select, options.map((m) => h("option", { value: m, selected: m === state.month }, f.monthLabel(m))));
  if (!state.month) return partnerEmpty(p.id, "No data for this partner yet.", true);
  await loadMonth(p.id, state.month);
}

function partnerEmpty(id, message, keepHead = false) {
  if (!keepHead) fill("partner-h", id);
  show("partner-body", false);
  show("partner-empty");
  fill("partner-empty", message);
  document.getElementById("month-form").hidden = !keepHead;
}

async function loadMonth(id, month) {
  document.getElementById("month-form").hidden = false;
  say(`Loading ${f.monthLabel(month)}…`);
  let data;
  try {
    data = await gql(Q.PARTNER_MONTH, { id, month });
  } catch (e) {
    return partnerEmpty(id, `The month could not be loaded: ${e.message}`, true);
  }
  if (id !== state.partnerId || month !== state.month) return; // a newer choice won
  const card = data.partner && data.partner.scorecard;
  drawHistory(state.partner, month);
  if (!card) {
    say("");
    return partnerEmpty(id, `No data for this month yet (${f.monthLabel(month)}).`, true);
  }
  show("partner-empty", false);
  show("partner-body");
  drawSummary(card, data.partner.status);
  drawTracks(card);
  say("");
  if (data.partner.status) loadLapse(id, month);
  loadCauses(id, month);
  loadProjection(id, month);
  loadCustomers(id, month);
  loadSkilling(id, month);
  loadHygiene(id, month);
  document.getElementById("whatif-result").replaceChildren();
}

function drawSummary(card, status) {
  const gap = card.score - MIN_TOTAL;
  fill(
    "summary",
    h(
      "div",
      { class: `card ${card.attained ? "good" : "bad"}` },
      h("h3", {}, "Score"),
      h("p", { class: "big", "data-testid": "score" }, f.points(card.score)),
      h("p", {}, `${gap >= 0 ? f.points(gap) + " points above" : f.points(-gap) + " points below"} the ${MIN_TOTAL}-point line`),
      metricBar({ points: card.score, maxPoints: 100, minimum: MIN_TOTAL, label: "Score against the 70-point line" }),
    ),
    h(
      "div",
      { class: `card ${card.attained ? "good" : "bad"}` },
      h("h3", {}, "Designation"),
      h("p", { class: "big", "data-testid": "attained" }, card.attained ? "Attained" : "Not attained"),
      h("p", {}, `Best track: ${f.trackName(card.bestTrack)} · rules ${card.rulebookId}`),
    ),
    h(
      "div",
      { class: `card ${status && status.qualified ? "good" : "bad"}` },
      h("h3", {}, "Qualification status"),
      h("p", { class: "big", "data-testid": "status" }, status ? (status.qualified ? "Qualified" : "Not qualified") : "–"),
      h(
        "p",
        {},
        status && status.qualified
          ? `Attained ${f.monthLabel(status.sinceMonth)} (${f.trackName(status.track)}); holds through ${f.monthLabel(status.validThrough)}`
          : "Not attained in this month or the 5 before it",
      ),
      status ? h("p", { "data-testid": "lapse", class: "note" }, "Projecting the status…") : null,
    ),
  );
}

/** The status card's projection line: asked apart from the month, as it reads the data folder. */
async function loadLapse(id, month) {
  let text;
  let cls = "";
  try {
    const { partner } = await gql(Q.LAPSE, { id, month });
    text = partner && partner.status ? lapseText(partner.status) : "";
  } catch (e) {
    text = `The status could not be projected: ${e.message}`;
    cls = "error";
  }
  if (id !== state.partnerId || month !== state.month) return;
  const el = document.querySelector("[data-testid=lapse]");
  if (!el) return;
  el.textContent = text;
  el.className = cls;
}

/** The projected lapse month in words (QualificationStatus.projectedLapseMonth). */
export function lapseText(status) {
  const m = status.projectedLapseMonth;
  if (!m) return "If nothing changes: no lapse projected within 12 months.";
  return status.qualified
    ? `If nothing changes: the status lapses in ${f.monthLabel(m)}.`
    : `If nothing changes: still not qualified in ${f.monthLabel(m)}.`;
}

function drawTracks(card) {
  const box = document.getElementById("tracks");
  fill(
    box,
    card.paths.map((path) => {
      const rows = path.metrics.map((m) => ({ ...m, track: path.track, _cls: m.points < MIN_METRIC ? "below" : null }));
      return h(
        "article",
        { class: `track ${path.qualifies ? "good" : "bad"}`, "aria-labelledby": `track-${path.track}` },
        h("h4", { id: `track-${path.track}` }, `${f.trackName(path.track)}: ${f.points(path.total)} points`, card.bestTrack === path.track ? h("span", { class: "badge" }, "best") : null),
        h("p", {}, path.qualifies ? "Qualifies" : `Does not qualify (${path.metricsAtMinimum} of 5 metrics at the ${MIN_METRIC}-point minimum)`),
        h(
          "ul",
          { class: "metrics" },
          rows.map((m) =>
            h(
              "li",
              { class: m._cls || null },
              h("span", { class: "metric-name" }, f.metricName(m.metric)),
              h("span", { class: "metric-pts" }, `${f.points(m.points)} / ${f.points(m.maxPoints)}`),
              metricBar({ points: m.points, maxPoints: m.maxPoints, minimum: MIN_METRIC, label: `${f.metricName(m.metric)}, ${f.trackName(path.track)}` }),
              h("span", { class: "metric-note" }, `${m.option === "ALL" ? "all associations" : `winning option ${m.option}`} · measure ${f.measure(m.value)}${m.points < MIN_METRIC ? " · under the minimum" : ""}`),
            ),
          ),
        ),
        dataTable({
          caption: `${f.trackName(path.track)} metrics`,
          csvName: `scorecard-${card.partnerId || state.partnerId}-${card.month}-${path.track}.csv`,
          rows,
          columns: [
            { label: "Metric", key: "metric", show: (r) => f.metricName(r.metric) },
            { label: "Points", key: "points", num: true, show: (r) => f.points(r.points) },
            { label: "Max", key: "maxPoints", num: true, show: (r) => f.points(r.maxPoints) },
            { label: "Option", key: "option" },
            { label: "Measure", key: "value", num: true, show: (r) => f.measure(r.value) },
            { label: "Current", key: "current", num: true, show: (r) => f.measure(r.current) },
            { label: "Year ago", key: "yearAgo", num: true, show: (r) => f.measure(r.yearAgo) },
            { label: "Adjustment", key: "adjustment", num: true, show: (r) => f.measure(r.adjustment) },
          ],
        }),
      );
    }),
  );
}

/** The history chart; ``projection`` ({labels, series}) draws a dashed continuation. */
function drawHistory(p, month, projection = null, projectionNote = null) {
  const t = p.trend;
  const box = document.getElementById("history");
  if (!t.months.length) return fill(box, h("p", { class: "empty" }, "No scored months yet."));
  const open = box.querySelector("details")?.open || null; // redrawn with the projection: the table stays open
  const path = (track) => t.paths.find((x) => x.track === track);
  const rows = t.months.map((m, i) => ({
    month: m,
    score: t.score.values[i],
    attained: t.attained[i],
    bestTrack: t.bestTrack[i],
    enterprise: path("ENTERPRISE").total.values[i],
    smb: path("SMB").total.values[i],
    projected: false,
    _cls: m === month ? "current" : null,
  }));
  if (projection) {
    projection.labels.forEach((m, i) => {
      const val = (name) => projection.series.find((x) => x.name === name).values[i];
      rows.push({ month: m, score: val("Score"), attained: projection.attained[i], bestTrack: projection.bestTrack[i], enterprise: val("Enterprise"), smb: val("SMB"), projected: true, _cls: "projected" });
    });
  }
  fill(
    box,
    lineChart({
      labels: t.months,
      title: "Score and both track totals over the scored months",
      threshold: MIN_TOTAL,
      series: [
        { name: "Score", values: t.score.values, cls: "score" },
        { name: "Enterprise", values: path("ENTERPRISE").total.values, cls: "ent" },
        { name: "SMB", values: path("SMB").total.values, cls: "smb" },
      ],
      projection,
    }),
    h("details", { open }, h("summary", {}, "History as a table"),
      dataTable({
        caption: "Score history",
        csvName: `history-${p.id}.csv`,
        rows,
        columns: [
          { label: "Month", key: "month", show: (r) => f.monthLabel(r.month) },
          { label: "Score", key: "score", num: true, show: (r) => f.points(r.score) },
          { label: "Attained", key: "attained", show: (r) => f.yesNo(r.attained) },
          { label: "Best track", key: "bestTrack", show: (r) => f.trackName(r.bestTrack) },
          { label: "Enterprise", key: "enterprise", num: true, show: (r) => f.points(r.enterprise) },
          { label: "SMB", key: "smb", num: true, show: (r) => f.points(r.smb) },
          { label: "Projected", key: "projected", show: (r) => f.yesNo(r.projected) },
        ],
      })),
    projectionNote,
  );
}

// ---- the projection (Partner.forecast) -------------------------------------------------------

/** The projection after the partner's last scored month, as lineChart's ``projection``. */
export function projectionOf(cards) {
  if (!cards.length) return null;
  const total = (c, track) => {
    const p = c.paths.find((x) => x.track === track);
    return p ? p.total : null;
  };
  return {
    labels: cards.map((c) => c.month),
    attained: cards.map((c) => c.attained),
    bestTrack: cards.map((c) => c.bestTrack || null),
    series: [
      { name: "Score", values: cards.map((c) => c.score), cls: "score" },
      { name: "Enterprise", values: cards.map((c) => total(c, "ENTERPRISE")), cls: "ent" },
      { name: "SMB", values: cards.map((c) => total(c, "SMB")), cls: "smb" },
    ],
  };
}

/** Redraw the history with the projection from the partner's last scored month (asked once per partner). */
async function loadProjection(id, month) {
  const p = state.partner;
  const last = p.trend.months[p.trend.months.length - 1];
  if (!last) return;
  if (!state.forecast || state.forecast.id !== id) {
    try {
      const { partner } = await gql(Q.FORECAST, { id, from: last });
      state.forecast = { id, cards: partner ? partner.forecast : [], error: null };
    } catch (e) {
      state.forecast = { id, cards: [], error: e.message };
    }
  }
  if (id !== state.partnerId || month !== state.month) return;
  const fc = state.forecast;
  const note = fc.error
    ? h("p", { class: "error" }, `The projection could not be loaded: ${fc.error}`)
    : fc.cards.length
      ? h("p", { class: "note" }, `Dashed: the projection of ${f.monthLabel(fc.cards[0].month)} to ${f.monthLabel(fc.cards[fc.cards.length - 1].month)} if every month after ${f.monthLabel(last)} looked like it (same customers, seats and users; certifications expire as dated).`)
      : null;
  drawHistory(p, month, projectionOf(fc.cards), note);
}

// ---- why the score moved (Partner.scoreChange) -------------------------------------------------

const SIDES = { MONTH: "this month", YEAR_AGO: "year-ago month", AT_ASSOCIATION: "at association" };
const UNITS = { customer: "customer", person: "person", active_user: "active user", deployment: "deployment" };
const signedCount = (n) => (n > 0 ? "+" : n < 0 ? "−" : "±") + f.count(Math.abs(n));

/**
 * One row per cause, grouped by track and metric: the best track (after) first, in a track the
 * metrics whose points moved most first, in a metric the option that wins after first, in an
 * option the causes with the largest change first.
 */
export function causeRows(sc) {
  const tracks = [...sc.tracks].sort((a, b) => (b.track === sc.bestTrackAfter) - (a.track === sc.bestTrackAfter));
  const rows = [];
  for (const t of tracks) {
    const metrics = t.metrics
      .map((m, i) => ({ m, i, moved: Math.abs(m.pointsAfter - m.pointsBefore) }))
      .sort((a, b) => b.moved - a.moved || a.i - b.i)
      .map((x) => x.m);
    for (const m of metrics) {
      const options = [...m.options].sort((a, b) => b.winnerAfter - a.winnerAfter || b.winnerBefore - a.winnerBefore);
      for (const o of options) {
        const causes = [...o.causes].sort((a, b) => Math.abs(b.change) - Math.abs(a.change));
        for (const c of causes) {
          rows.push({
            track: t.track,
            metric: m.metric,
            unit: m.unit,
            metricPointsBefore: m.pointsBefore,
            metricPointsAfter: m.pointsAfter,
            option: o.option,
            winner: o.winnerAfter,
            measureBefore: o.measureBefore,
            measureAfter: o.measureAfter,
            ...c,
            _cls: o.winnerAfter || o.winnerBefore ? null : "muted",
          });
        }
      }
    }
  }
  return rows;
}

function causeGroup(r) {
  return `${f.trackName(r.track)} · ${f.metricName(r.metric)}: ${f.points(r.metricPointsBefore)} → ${f.points(r.metricPointsAfter)} points (${f.signed(r.metricPointsAfter - r.metricPointsBefore)})`;
}

async function loadCauses(id, month) {
  const box = document.getElementById("causes-body");
  show("causes");
  fill(box, h("p", { class: "loading" }, "Loading the causes of change…"));
  let sc;
  try {
    const { partner } = await gql(Q.SCORE_CHANGE, { id, month });
    sc = partner && partner.scoreChange;
  } catch (e) {
    if (id !== state.partnerId || month !== state.month) return;
    return fill(box, h("p", { class: "error" }, `The causes of change could not be loaded: ${e.message}`));
  }
  if (id !== state.partnerId || month !== state.month) return;
  if (!sc) return fill(box, h("p", { class: "empty" }, `No month before to compare with: ${f.monthLabel(month)} is the first scored month, or the month before it was not scored.`));
  const rows = causeRows(sc);
  const totals = sc.tracks.map((t) => `${f.trackName(t.track)} ${f.points(t.totalBefore)} → ${f.points(t.totalAfter)}`).join(" · ");
  const verdict = sc.attainedBefore === sc.attainedAfter ? (sc.attainedAfter ? "still attained" : "still not attained") : sc.attainedAfter ? "now attained" : "no longer attained";
  fill(
    box,
    h(
      "p",
      { "data-testid": "score-change" },
      `From ${f.monthLabel(sc.previousMonth)} to ${f.monthLabel(sc.month)} the score went ${f.points(sc.scoreBefore)} → ${f.points(sc.scoreAfter)} (${f.signed(sc.scoreAfter - sc.scoreBefore)}), ${verdict}. ${totals}.`,
    ),
    sc.rulebookIdBefore !== sc.rulebookIdAfter ? h("p", { class: "note" }, `The rules changed: ${sc.rulebookIdBefore} scored ${f.monthLabel(sc.previousMonth)}, ${sc.rulebookIdAfter} scores ${f.monthLabel(sc.month)}.`) : null,
    h("p", { class: "note" }, "Each cause is one tenant or person whose term of a measure changed; year-ago causes act on the month a year back that the metric subtracts. Options that win neither month are greyed."),
    dataTable({
      caption: `Causes of change, ${f.monthLabel(sc.previousMonth)} to ${f.monthLabel(sc.month)}`,
      csvName: `causes-${id}-${month}.csv`,
      rows,
      group: causeGroup,
      empty: `Nothing changed between ${f.monthLabel(sc.previousMonth)} and ${f.monthLabel(sc.month)}.`,
      columns: [
        { label: "Cause", key: "text" },
        { label: "Change", key: "change", num: true, show: (r) => `${signedCount(r.change)} ${UNITS[r.unit] || r.unit}${Math.abs(r.change) === 1 ? "" : "s"}` },
        { label: "Side", key: "side", show: (r) => SIDES[r.side] || r.side },
        { label: "Option", key: "option", show: (r) => (r.winner ? `${r.option} (wins)` : r.option) },
        { label: "Option's measure", num: true, show: (r) => `${f.count(r.measureBefore)} → ${f.count(r.measureAfter)}`, csv: false },
        { label: "Track", key: "track", csvOnly: true },
        { label: "Metric", key: "metric", csvOnly: true },
        { label: "Kind", key: "kind", csvOnly: true },
        { label: "Tenant", key: "tenantId" },
        { label: "Person", key: "personId" },
        { label: "Certification", key: "certification", csvOnly: true },
        { label: "Workload", key: "workload", csvOnly: true },
        { label: "Unit", key: "unit", csvOnly: true },
        { label: "Measure before", key: "measureBefore", num: true, csvOnly: true },
        { label: "Measure after", key: "measureAfter", num: true, csvOnly: true },
        { label: "Option wins", key: "winner", csvOnly: true },
        { label: "Metric points before", key: "metricPointsBefore", csvOnly: true },
        { label: "Metric points after", key: "metricPointsAfter", csvOnly: true },
      ],
    }),
  );
}

// ---- hygiene (Partner.hygiene) -----------------------------------------------------------------

const metricList = (ms) => ms.map(f.metricName).join(", ");

async function loadHygiene(id, month) {
  const box = document.getElementById("hygiene");
  fill(box, h("p", { class: "loading" }, "Loading the hygiene report…"));
  let hy;
  try {
    const { partner } = await gql(Q.HYGIENE, { id, month });
    hy = partner && partner.hygiene;
  } catch (e) {
    if (id !== state.partnerId || month !== state.month) return;
    return fill(box, h("p", { class: "error" }, `The hygiene report could not be loaded: ${e.message}`));
  }
  if (id !== state.partnerId || month !== state.month) return;
  if (!hy) return fill(box, h("p", { class: "empty" }, "No hygiene report for this month."));
  fill(
    box,
    h("h4", {}, "Customers to associate under the winning option"),
    dataTable({
      caption: "Customers counted under another option",
      csvName: `hygiene-options-${id}-${month}.csv`,
      rows: hy.otherOptionCustomers,
      empty: "Every held customer that could count under the winning option already does.",
      columns: [
        { label: "Tenant", key: "tenantId" },
        { label: "Track", key: "track", show: (r) => f.trackName(r.track) },
        { label: "Counted under", key: "countedUnder", show: (r) => r.countedUnder.join(", ") },
        { label: "Winning option", key: "winningOption" },
        { label: "Metrics it wins", key: "metrics", show: (r) => metricList(r.metrics) },
      ],
    }),
    h("h4", {}, "Customers one seat below a band"),
    dataTable({
      caption: "Customers one seat below a band",
      csvName: `hygiene-bands-${id}-${month}.csv`,
      rows: hy.nearBandCustomers,
      empty: "No customer is one seat below a band.",
      columns: [
        { label: "Tenant", key: "tenantId" },
        { label: "Track", key: "track", show: (r) => f.trackName(r.track) },
        { label: "Workload", key: "workload" },
        { label: "Paid seats", key: "paidSeats", num: true, show: (r) => f.count(r.paidSeats) },
        { label: "Seats needed", key: "seatsNeeded", num: true, show: (r) => f.count(r.seatsNeeded) },
        { label: "Metrics", key: "metrics", show: (r) => metricList(r.metrics) },
      ],
    }),
    h("h4", {}, "Certifications by the month they stop counting"),
    dataTable({
      caption: "Counted certifications that stop counting within 12 months",
      csvName: `hygiene-certifications-${id}-${month}.csv`,
      rows: [...hy.certificationStops].sort((a, b) => (a.stopsIn < b.stopsIn ? -1 : a.stopsIn > b.stopsIn ? 1 : 0)).map((r) => ({ ...r, _cls: r.personStillCounts ? "muted" : null })),
      empty: "No counted certification stops counting within 12 months.",
      group: (r) => `Stop counting in ${f.monthLabel(r.stopsIn)}`,
      columns: [
        { label: "Person", key: "personId" },
        { label: "Certification", key: "certification" },
        { label: "Level", key: "level", show: (r) => r.level.toLowerCase() },
        { label: "Earned", key: "earnedOn" },
        { label: "Stops in", key: "stopsIn", csvOnly: true },
        { label: "Why", key: "reason", show: (r) => (r.reason === "EXPIRES" ? "expires" : "retires") },
        { label: "Person still counts", key: "personStillCounts", show: (r) => f.yesNo(r.personStillCounts) },
      ],
    }),
  );
}

// ---- customers -----------------------------------------------------------------------------

/** Why a customer row counts or not, in words. */
export function customerReason(c) {
  if (!c.eligible) return `not counted: outside the ${c.seatBand} seat band this month`;
  if (!c.counted) return "not counted: no eligible workload held under this option this month";
  const parts = [`counts: ${c.seatBand} seats, ${c.workloadCount} workload${c.workloadCount === 1 ? "" : "s"} held`];
  parts.push(c.countedYearAgo ? "held a year ago too" : "new since a year ago");
  if (c.excluded) parts.push("deployment excluded (already deployed at association)");
  else if (c.deployed) parts.push("deployed");
  return parts.join("; ");
}

async function loadCustomers(id, month) {
  const box = document.getElementById("customers");
  fill(box, h("p", { class: "loading" }, "Loading customers…"));
  const rows = [];
  try {
    let after = null;
    for (;;) {
      const { partner } = await gql(Q.CUSTOMERS, { id, month, after });
      if (!partner) return fill(box, h("p", { class: "empty" }, "No customers."));
      const page = partner.customers;
      rows.push(...page.nodes);
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
  } catch (e) {
    return fill(box, h("p", { class: "error" }, `Customers could not be loaded: ${e.message}`));
  }
  if (id !== state.partnerId || month !== state.month) return;
  state.customers = rows;
  const select = document.querySelector("#whatif-form select[name=loseTenant]");
  const tenants = [...new Set(rows.filter((r) => r.workloadCount > 0).map((r) => r.tenantId))];
  fill(select, h("option", { value: "" }, "none"), tenants.map((t) => h("option", { value: t }, t)));
  for (const r of rows) {
    r.reason = customerReason(r);
    r._cls = r.counted ? null : "muted";
  }
  const counted = rows.filter((r) => r.counted).length;
  fill(
    box,
    h("p", {}, `${f.count(rows.length)} rows (tenant, track and option); ${f.count(counted)} counted.`),
    dataTable({
      caption: `Customer eligibility, ${f.monthLabel(month)}`,
      csvName: `customers-${id}-${month}.csv`,
      rows,
      empty: `No customer rows for ${f.monthLabel(month)}.`,
      columns: [
        { label: "Tenant", key: "tenantId" },
        { label: "Track", key: "track", show: (r) => f.trackName(r.track) },
        { label: "Option", key: "option" },
        { label: "Counts?", key: "counted", show: (r) => f.yesNo(r.counted) },
        { label: "Why", key: "reason" },
        { label: "Eligible", key: "eligible", show: (r) => f.yesNo(r.eligible) },
        { label: "Seat band", key: "seatBand" },
        { label: "Max paid seats", key: "maxPaidSeats", num: true, show: (r) => f.count(r.maxPaidSeats) },
        { label: "Workloads", key: "workloadCount", num: true },
        { label: "Associated", key: "associatedOn" },
        { label: "Paid seats", key: "paidSeats", num: true, show: (r) => f.count(r.paidSeats) },
        { label: "Active users", key: "activeUsers", num: true, show: (r) => f.count(r.activeUsers) },
        { label: "Active ratio", key: "activeRatio", num: true, show: (r) => f.percent(r.activeRatio) },
        { label: "Counted a year ago", key: "countedYearAgo", show: (r) => f.yesNo(r.countedYearAgo) },
        { label: "Deployed", key: "deployed", show: (r) => f.yesNo(r.deployed) },
        { label: "Deployed a year ago", key: "deployedYearAgo", show: (r) => f.yesNo(r.deployedYearAgo) },
        { label: "Excluded", key: "excluded", show: (r) => f.yesNo(r.excluded) },
        { label: "Baseline users", key: "baselineUsers", num: true, show: (r) => f.count(r.baselineUsers) },
      ],
    }),
  );
}

// ---- skilling --------------------------------------------------------------------------------

function monthEnd(month) {
  const [y, m] = month.split("-").map(Number);
  return new Date(Date.UTC(y, m, 0)).toISOString().slice(0, 10);
}

/** The day a certification stops counting: the earlier of its expiry and its counts-through date. */
function stopsCounting(c) {
  const ends = [c.expiresOn, c.countsThrough].filter(Boolean).sort();
  return ends[0] || null;
}

async function loadSkilling(id, month) {
  const box = document.getElementById("skilling");
  fill(box, h("p", { class: "loading" }, "Loading the skilling report…"));
  let report;
  try {
    const { partner } = await gql(Q.SKILLING, { id, month });
    report = partner && partner.skilling;
  } catch (e) {
    return fill(box, h("p", { class: "error" }, `The skilling report could not be loaded: ${e.message}`));
  }
  if (id !== state.partnerId || month !== state.month) return;
  if (!report) return fill(box, h("p", { class: "empty" }, "No skilling report for this month."));
  const rows = report.persons.flatMap((p) =>
    p.certifications.map((c) => ({ personId: p.personId, ...c, stopsCounting: stopsCounting(c), _cls: c.counts ? null : "muted" })),
  );
  const shown = report.persons.slice(0, 40);
  fill(
    box,
    h("p", {}, `${f.count(report.intermediatePersons)} persons count for intermediate and ${f.count(report.advancedPersons)} for advanced certifications in ${f.monthLabel(month)}.`),
    report.persons.length
      ? timeline({
          title: "Certifications over time",
          desc: "Each bar runs from when a certification was earned to when it stops counting; bars that count this month are solid.",
          marker: monthEnd(month),
          rows: shown.map((p) => ({
            label: p.personId,
            bars: p.certifications.map((c) => ({
              from: c.earnedOn,
              to: stopsCounting(c),
              cls: c.counts ? (c.level === "ADVANCED" ? "adv" : "int") : "off",
              title: `${p.personId}: ${c.name}, ${c.earnedOn} to ${stopsCounting(c) || "no end"}${c.counts ? "" : ` (does not count: ${f.notCountingReason(c.notCountingReason)})`}`,
            })),
          })),
        })
      : null,
    report.persons.length > shown.length ? h("p", { class: "note" }, `The timeline shows the first ${shown.length} of ${report.persons.length} persons; the table lists everyone.`) : null,
    dataTable({
      caption: `Certifications, ${f.monthLabel(month)}`,
      csvName: `skilling-${id}-${month}.csv`,
      rows,
      empty: "No certified persons.",
      columns: [
        { label: "Person", key: "personId" },
        { label: "Certification", key: "name" },
        { label: "Level", key: "level", show: (r) => (r.level ? r.level.toLowerCase() : "not eligible") },
        { label: "Earned", key: "earnedOn" },
        { label: "Expires", key: "expiresOn" },
        { label: "Counts through", key: "countsThrough" },
        { label: "Stops counting", key: "stopsCounting" },
        { label: "Counts?", key: "counts", show: (r) => f.yesNo(r.counts) },
        { label: "Why not", key: "notCountingReason", show: (r) => f.notCountingReason(r.notCountingReason) },
      ],
    }),
  );
}

// ---- what-if ---------------------------------------------------------------------------------

function changesFrom(form) {
  const n = (name) => Math.max(0, Math.floor(Number(form.elements[name].value) || 0));
  const changes = { addCertifiedPersons: [], removeCertifiedPersons: [], addCustomers: [], changeActiveUsers: [], loseAssociations: [] };
  if (n("addIntermediate")) changes.addCertifiedPersons.push({ level: "INTERMEDIATE", count: n("addIntermediate") });
  if (n("addAdvanced")) changes.addCertifiedPersons.push({ level: "ADVANCED", count: n("addAdvanced") });
  if (n("removeIntermediate")) changes.removeCertifiedPersons.push({ level: "INTERMEDIATE", count: n("removeIntermediate") });
  if (n("removeAdvanced")) changes.removeCertifiedPersons.push({ level: "ADVANCED", count: n("removeAdvanced") });
  if (form.elements.addCustomer.checked) {
    const workloads = form.elements.workloads.value.split(",").map((w) => w.trim()).filter(Boolean);
    changes.addCustomers.push({ seats: n("seats"), activeUsers: n("activeUsers"), option: form.elements.option.value, workloads: workloads.length ? workloads : ["Exchange"] });
  }
  if (form.elements.loseTenant.value) changes.loseAssociations.push({ tenantId: form.elements.loseTenant.value });
  return changes;
}

async function simulate(form) {
  const box = document.getElementById("whatif-result");
  fill(box, h("p", { class: "loading" }, "Simulating… (the what-if reads 13 months of input data: on a large program this takes a while)"));
  const id = state.partnerId;
  const month = state.month;
  let sim;
  try {
    ({ simulate: sim } = await gql(Q.SIMULATE, { id, month, changes: changesFrom(form) }));
  } catch (e) {
    return fill(box, h("p", { class: "error" }, `The simulation failed: ${e.message}`));
  }
  if (!sim) return fill(box, h("p", { class: "empty" }, "No data for this month yet."));
  const verdict = (c) => `${c.attained ? "attained" : "not attained"} (${f.trackName(c.bestTrack)})`;
  fill(
    box,
    h(
      "div",
      { class: `card ${sim.simulated.attained ? "good" : "bad"}`, "data-testid": "whatif-summary" },
      h("h4", {}, `Simulated ${f.monthLabel(sim.month)}`),
      h("p", { class: "big" }, `${f.points(sim.actual.score)} → ${f.points(sim.simulated.score)} (${f.signed(sim.scoreDelta)})`),
      h("p", {}, `Designation: ${verdict(sim.actual)} → ${verdict(sim.simulated)}${sim.attainedChanges ? " — changes" : ""}`),
    ),
    dataTable({
      caption: "Simulated metrics",
      csvName: `whatif-${id}-${sim.month}.csv`,
      rows: sim.metricDeltas.map((d) => ({ ...d, _cls: d.delta ? "changed" : null })),
      columns: [
        { label: "Track", key: "track", show: (r) => f.trackName(r.track) },
        { label: "Metric", key: "metric", show: (r) => f.metricName(r.metric) },
        { label: "Points now", key: "actualPoints", num: true, show: (r) => f.points(r.actualPoints) },
        { label: "Simulated", key: "simulatedPoints", num: true, show: (r) => f.points(r.simulatedPoints) },
        { label: "Change", key: "delta", num: true, show: (r) => f.signed(r.delta) },
        { label: "Measure now", key: "actualValue", num: true, show: (r) => f.measure(r.actualValue) },
        { label: "Simulated measure", key: "simulatedValue", num: true, show: (r) => f.measure(r.simulatedValue) },
      ],
    }),
  );
}

// ---- wiring --------------------------------------------------------------------------------

document.getElementById("signin-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const input = document.getElementById("token");
  const t = input.value.trim();
  input.value = "";
  if (!t) return;
  token.set(t);
  signIn();
});
document.getElementById("sign-out").addEventListener("click", () => {
  token.clear();
  state.partnerId = null;
  state.partner = null;
  state.forecast = null;
  history.replaceState(null, "", location.pathname);
  signedOut("");
  document.getElementById("token").focus();
});
document.getElementById("search-form").addEventListener("submit", (e) => {
  e.preventDefault();
  search(document.getElementById("search").value);
});
document.getElementById("month").addEventListener("change", (e) => writeHash(state.partnerId, e.target.value));
document.getElementById("whatif-form").addEventListener("submit", (e) => {
  e.preventDefault();
  simulate(e.target);
});
window.addEventListener("hashchange", route);

if (token.get()) signIn();
else signedOut("");
