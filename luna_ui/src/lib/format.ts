/* Locale-aware formatting; times shown in the tenant's time zone. */

export function fmtNumber(value: number | null | undefined, locale: string, digits = 1): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  return new Intl.NumberFormat(locale, { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(value);
}

export function fmtEur(value: number | null | undefined, locale: string): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  return new Intl.NumberFormat(locale, { style: "currency", currency: "EUR" }).format(value);
}

export function fmtPct(value: number | null | undefined, locale: string, signed = false): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  return new Intl.NumberFormat(locale, {
    style: "percent",
    maximumFractionDigits: 0,
    signDisplay: signed ? "exceptZero" : "auto",
  }).format(value);
}

export function fmtDateTime(iso: string | null | undefined, locale: string, timeZone?: string): string {
  if (!iso) return "–";
  return new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short", timeZone }).format(new Date(iso));
}

export function fmtTime(iso: string | Date | null | undefined, locale: string, timeZone?: string): string {
  if (!iso) return "–";
  return new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit", timeZone }).format(new Date(iso));
}

export function fmtDate(iso: string | Date, locale: string, timeZone?: string): string {
  return new Intl.DateTimeFormat(locale, { weekday: "long", day: "numeric", month: "long", timeZone }).format(
    new Date(iso),
  );
}

/** A calendar month (an ISO date within it, YYYY-MM-DD) as the reader says it: "Dezember 2026". */
export function fmtMonth(iso: string, locale: string): string {
  const [year, month] = iso.split("-").map(Number);
  return new Intl.DateTimeFormat(locale, { month: "long", year: "numeric", timeZone: "UTC" }).format(
    new Date(Date.UTC(year, month - 1, 15)),
  );
}

export function fmtBytes(bytes: number, locale: string): string {
  const units = ["B", "KB", "MB", "GB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${fmtNumber(value, locale, unit ? 1 : 0)} ${units[unit]}`;
}

/** Parts of a wall-clock time in a zone (Intl is the only zone database a browser has). */
export function zonedParts(date: Date, timeZone: string): { year: number; month: number; day: number; hour: number; minute: number } {
  const parts = new Intl.DateTimeFormat("en-GB", {
    timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).formatToParts(date);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return { year: get("year"), month: get("month"), day: get("day"), hour: get("hour"), minute: get("minute") };
}

/** The UTC instant of local midnight of `date`'s day in `timeZone` (days after `offsetDays`). */
export function zonedMidnight(date: Date, timeZone: string, offsetDays = 0): Date {
  const p = zonedParts(date, timeZone);
  const guess = Date.UTC(p.year, p.month - 1, p.day + offsetDays);
  // Two passes settle the zone offset, also across a DST change.
  let instant = guess;
  for (let i = 0; i < 2; i++) {
    const q = zonedParts(new Date(instant), timeZone);
    const asUtc = Date.UTC(q.year, q.month - 1, q.day, q.hour, q.minute);
    instant += guess - asUtc;
  }
  return new Date(instant);
}

export function isoDate(date: Date, timeZone: string): string {
  const p = zonedParts(date, timeZone);
  return `${p.year}-${String(p.month).padStart(2, "0")}-${String(p.day).padStart(2, "0")}`;
}

/** "today" or "tomorrow" when the tenant-local day `iso` (YYYY-MM-DD) is one of them at `now`, else null. */
export function relativeDay(iso: string, timeZone: string, now: Date = new Date()): "today" | "tomorrow" | null {
  if (iso === isoDate(now, timeZone)) return "today";
  if (iso === isoDate(zonedMidnight(now, timeZone, 1), timeZone)) return "tomorrow";
  return null;
}

// Shared and role mailboxes are no one's name: "Guten Tag, Customer" greets nobody.
const MAILBOX_WORDS = new Set([
  "admin", "buchhaltung", "contact", "customer", "energie", "energy", "hallo", "hello", "info", "kontakt",
  "kunde", "mail", "office", "post", "service", "support", "team", "user",
]);

/** The first name in an e-mail address, or "" for a shared mailbox. */
export function greetingName(email: string | null | undefined): string {
  const local = (email ?? "").split("@")[0].split(/[._+-]/)[0];
  if (!local || MAILBOX_WORDS.has(local.toLowerCase()) || /\d/.test(local)) return "";
  return local.charAt(0).toUpperCase() + local.slice(1);
}
