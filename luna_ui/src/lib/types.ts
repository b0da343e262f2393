/* Response shapes of the Luna API (see luna_api/schemas.py and the shared contracts). */

export interface Page<T> {
  items: T[];
  limit: number;
  offset: number;
  next_offset: number | null;
}

export interface Kpis {
  as_of: string;
  kwh_today: number;
  kwh_month: number;
  cost_today_eur: number | null;
  cost_month_eur: number | null;
  peak_kw_month: number | null;
  peak_at: string | null;
  pv_kwh_month: number | null;
  self_consumption_ratio: number | null;
  readings_to: string | null;
  computed_at: string;
}

export interface Bucket {
  start: string;
  kwh: number;
  cost_eur: number | null;
  intervals: number;
  unpriced_intervals: number;
}

export interface Series {
  start: string;
  end: string;
  kwh: number;
  cost_eur: number | null;
  buckets: Bucket[];
}

export interface Aggregate {
  bucket: string;
  meter_id: string | null;
  current: Series;
  compare: "previous_period" | "previous_year" | null;
  previous: Series | null;
  change_pct: number | null;
}

export interface Meter {
  meter_id: string;
  kind: "consumption" | "pv" | "ev" | "heat_pump" | "battery";
  name: string;
  max_kw: number;
}

export interface Reading {
  meter_id: string;
  ts: string;
  kwh: number;
  quality: string;
}

export interface Price {
  ts: string;
  eur_per_mwh: number;
  resolution_minutes: number;
  /** What a kWh costs the tenant in this slot on its tariff, VAT included; null without a tariff. */
  all_in_ct_kwh?: number | null;
}

export interface Prices {
  zone: string;
  resolution_minutes: number;
  cost_basis?: "tariff" | "wholesale";
  prices: Price[];
  cheapest: Price[] | null;
}

export interface Tenant {
  id: string;
  name: string;
  kind: string;
  zone: string;
  timezone: string;
  state: string | null;
  status: string;
  share_anonymised: boolean;
}

export interface User {
  id: number;
  tenant_id: string;
  email: string;
  role: string;
  is_active: boolean;
  is_platform_admin: boolean;
  created_at: string;
  last_login_at: string | null;
}

export interface Forecast {
  target: string;
  model_name: string | null;
  model_versions: string[];
  issued_at: string | null;
  points: { ts: string; kwh: number; model_version: string }[];
}

export interface Health {
  status: string;
  version: string;
}

/** One check of GET /admin/status: what was asked of whom (target: null for tenant admins), and the answer. */
export interface ComponentStatus {
  name: string;
  ok: boolean;
  target: string | null;
  detail: string;
  latency_ms: number | null;
  version: string | null;
}

export interface SystemStatus {
  components: ComponentStatus[];
  host: Record<string, number>;
  errors?: string[];
  errors_source?: "loki" | "process";
  errors_problem?: string | null;
}

export interface AuditEntry {
  id: number;
  ts: string;
  actor: string;
  tenant_id: string;
  action: string;
  target: string | null;
  outcome: string;
  request_id: string | null;
  client_addr: string | null;
  detail: Record<string, unknown>;
}

export interface ModelVersion {
  version: string;
  aliases: string[];
  metrics: Record<string, number>;
  tags: Record<string, string>;
  created_at: string;
}

export interface Models {
  name: string;
  champion: string | null;
  versions: ModelVersion[];
  training: { id: number; kind: string; status: string; reason: string | null; dagster_run_id: string | null; created_at: string; updated_at: string }[];
}

/* Knowledge (issue 5 contract). */
export interface DocumentOut {
  id: string;
  filename: string;
  title: string;
  content_type: string;
  size_bytes: number;
  sha256: string;
  status: "queued" | "processing" | "indexed" | "needs_attention" | "failed";
  error: string | null;
  error_code?: string | null;
  retry_at?: string | null;
  pages: number | null;
  language: string | null;
  author: string | null;
  chunk_count: number;
  created_at: string;
  indexed_at: string | null;
  duplicate: boolean;
}

export interface Chunk {
  id: string;
  position: number;
  page: number | null;
  heading: string | null;
  text: string;
  token_count: number;
}

export interface Citation {
  n: number;
  chunk_id: string;
  document_id: string;
  title: string;
  page: number | null;
  snippet: string;
}

export interface Answer {
  answer: string;
  answer_id: string;
  session_id: string;
  mode: "llm" | "extractive" | "data" | "none";
  language: "de" | "en";
  citations: Citation[];
  data: { label: string; value: string | number; unit: string | null; source: string }[];
}

export interface KnowledgeStatus {
  backend: string;
  collection: string;
  chunks_by_tenant: { tenant_id: string; chunks: number; documents: number }[];
  last_reindex_at: string | null;
}

/* Playbook (issue 7 contract). */
export interface Rule {
  id: string | number;
  name: string;
  strategy: string;
  condition: Record<string, unknown>;
  action: Record<string, unknown>;
  params: Record<string, unknown>;
  enabled: boolean;
  version: number;
  updated_at: string;
}

/** Texts come rendered in the language asked for (?language=); the _en/_de fields are kept for old clients. */
export interface Strategy {
  key: string;
  name: string;
  description: string;
  name_en: string;
  name_de: string;
  description_en: string;
  description_de: string;
  default_params: Record<string, unknown>;
}

export interface Recommendation {
  id: string | number;
  rule_id: string | number | null;
  strategy: string;
  title: string;
  reason: string;
  message_key: string;
  title_en: string;
  title_de: string;
  reason_en: string;
  reason_de: string;
  saving_eur: number;
  starts_at: string;
  ends_at: string;
}

export interface Slot {
  start: string;
  price_eur_mwh: number;
  baseline_kw: number;
  optimised_kw: number;
  device: string;
}

export interface Schedule {
  date: string;
  slots: Slot[];
  naive_cost_eur: number;
  optimised_cost_eur: number;
  saving_eur: number;
}

export interface Savings {
  items: { period: string; naive_eur: number; optimised_eur: number; saving_eur: number; realised_eur: number | null }[];
  total_saving_eur: number;
  total_realised_eur: number | null;
}

export interface Simulation {
  feasible: boolean;
  reason: string | null;
  plan: Slot[];
  naive_cost_eur: number;
  optimised_cost_eur: number;
  saving_eur: number;
}
