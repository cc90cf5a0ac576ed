// CSV downloads: exact values as the API gives them (no rounding), RFC 4180 quoting.

function cell(v) {
  if (v === null || v === undefined) return "";
  const text = Array.isArray(v) ? v.join(";") : String(v);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** CSV text of rows (objects) under columns [{key, label}] or keys. */
export function toCsv(columns, rows) {
  const cols = columns.map((c) => (typeof c === "string" ? { key: c, label: c } : c));
  const lines = [cols.map((c) => cell(c.label)).join(",")];
  for (const r of rows) lines.push(cols.map((c) => cell(typeof c.value === "function" ? c.value(r) : r[c.key])).join(","));
  return lines.join("\r\n") + "\r\n";
}

/** Offer text as a file download. */
export function download(filename, text) {
  const url = URL.createObjectURL(new Blob([text], { type: "text/csv;charset=utf-8" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
