// The scorecard page: sign in with a token, pick a partner (admin) and a month, draw the month.
import { ApiError, gql, token } from "./api.js";
import { histogram, lineChart, metricBar, timeline } from "./charts.js";
import { download, toCsv } from "./csv.js";
import { fill, h, show } from "./dom.js";
import * as f from "./format.js";
import * as Q from "./queries.js";

const MIN_TOTAL = 70; // points to attain
const MIN_METRIC = 1; // points every metric needs

const state = { viewer: null, months: [], partnerId: null, month: null, partner: null, customers: [] };

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
 * columns: [{label, key, show(r) -> text on screen, csv(r) -> exact value, num}]
 */
function dataTable({ caption, columns, rows, csvName, empty }) {
  if (!rows.length) return h("p", { class: "empty" }, empty || "Nothing to show.");
  const table = h(
    "table",
    {},
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col", class: c.num ? "num" : null }, c.label)))),
    h(
      "tbody",
      {},
      rows.map((r) =>
        h(
          "tr",
          { class: r._cls || null },
          columns.map((c, i) => {
            const v = c.show ? c.show(r) : r[c.key];
            const cell = v instanceof Node ? v : v === null || v === undefined ? "–" : String(v);
            return h(i === 0 ? "th" : "td", { scope: i === 0 ? "row" : null, class: c.num ? "num" : null }, cell);
          }),
        ),
      ),
    ),
  );
  const csvCols = columns.filter((c) => c.csv !== false).map((c) => ({ label: c.csvLabel || c.key || c.label, value: c.csv || ((r) => r[c.key]) }));
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
  loadCustomers(id, month);
  loadSkilling(id, month);
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
    ),
  );
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
function drawHistory(p, month, projection = null) {
  const t = p.trend;
  const box = document.getElementById("history");
  if (!t.months.length) return fill(box, h("p", { class: "empty" }, "No scored months yet."));
  const path = (track) => t.paths.find((x) => x.track === track);
  const rows = t.months.map((m, i) => ({
    month: m,
    score: t.score.values[i],
    attained: t.attained[i],
    bestTrack: t.bestTrack[i],
    enterprise: path("ENTERPRISE").total.values[i],
    smb: path("SMB").total.values[i],
    _cls: m === month ? "current" : null,
  }));
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
    h("details", {}, h("summary", {}, "History as a table"),
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
        ],
      })),
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
