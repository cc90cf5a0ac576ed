// Numbers and dates for people: points to two decimals on screen (exact values stay in the API and CSV).
const two = new Intl.NumberFormat("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const whole = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const pct = new Intl.NumberFormat("en-US", { style: "percent", maximumFractionDigits: 1 });

export const points = (x) => (x === null || x === undefined ? "–" : two.format(x));
export const count = (x) => (x === null || x === undefined ? "–" : whole.format(x));
export const percent = (x) => (x === null || x === undefined ? "–" : pct.format(x));
export const signed = (x) => (x === null || x === undefined ? "–" : (x > 0 ? "+" : x < 0 ? "−" : "±") + two.format(Math.abs(x)));
/** A measure: whole numbers as counts, anything else to two decimals. */
export const measure = (x) => (Number.isInteger(x) ? count(x) : points(x));
export const yesNo = (b) => (b ? "yes" : "no");

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
/** "2024-06" -> "Jun 2024". */
export function monthLabel(m) {
  if (!m) return "–";
  const [y, mm] = m.split("-");
  return `${MONTHS[Number(mm) - 1]} ${y}`;
}
/** "2024-06" -> "Jun 24" (chart axes). */
export function monthShort(m) {
  const [y, mm] = m.split("-");
  return `${MONTHS[Number(mm) - 1]} ${y.slice(2)}`;
}

const METRICS = {
  NET_CUSTOMER_ADDS: "Net customer adds",
  INTERMEDIATE_CERTIFICATIONS: "Intermediate certifications",
  ADVANCED_CERTIFICATIONS: "Advanced certifications",
  USAGE_GROWTH: "Usage growth",
  DEPLOYMENTS: "Deployments",
};
export const metricName = (m) => METRICS[m] || m;
export const trackName = (t) => (t === "ENTERPRISE" ? "Enterprise" : t === "SMB" ? "SMB" : t || "–");

const REASONS = {
  NOT_ELIGIBLE: "not an eligible certification",
  REMOVED: "removed by this month's rules",
  EXPIRED: "expired",
  PAST_COUNTS_THROUGH: "past its counts-through date",
};
export const notCountingReason = (r) => (r ? REASONS[r] || r : "");
