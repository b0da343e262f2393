import { useEffect, useState } from "react";
import { NavLink, Route, Routes } from "react-router";
import { cx, inputClass, PageHeader } from "../../components/ui";
import { api } from "../../lib/api";
import { useAuth } from "../../lib/auth";
import { useI18n, type Key } from "../../lib/i18n";
import type { Page, Tenant } from "../../lib/types";
import { useApi } from "../../lib/useApi";
import { Audit } from "./Audit";
import { Documents } from "./Documents";
import { Knowledge } from "./Knowledge";
import { Models } from "./Models";
import { System } from "./System";
import { Tenants } from "./Tenants";

const TABS: { to: string; key: Key }[] = [
  { to: "/console", key: "console.system" },
  { to: "/console/documents", key: "console.documents" },
  { to: "/console/models", key: "console.models" },
  { to: "/console/knowledge", key: "console.knowledge" },
  { to: "/console/tenants", key: "console.tenants" },
  { to: "/console/audit", key: "console.audit" },
];

/** Platform admins pick the tenant every console page acts on (the server audits each request). */
function TenantSwitcher({ value, onChange }: { value: string; onChange: (tenantId: string) => void }) {
  const { t } = useI18n();
  const tenants = useApi(() => api.get<Page<Tenant>>("/tenants", { limit: 500 }), "console-tenants");
  return (
    <label className="flex items-center gap-2 text-sm">
      <span className="text-muted">{t("console.actingOn")}</span>
      <select
        className={`${inputClass} w-auto`}
        value={value}
        onChange={(event) => onChange(event.target.value)}
        data-testid="console-tenant"
      >
        {(tenants.data?.items ?? [{ id: value, name: value } as Tenant]).map((tenant) => (
          <option key={tenant.id} value={tenant.id}>
            {tenant.name ? `${tenant.name} (${tenant.id})` : tenant.id}
          </option>
        ))}
      </select>
    </label>
  );
}

export default function Console() {
  const { t } = useI18n();
  const { claims } = useAuth();
  const own = claims?.tenant ?? "";
  const [tenant, setTenant] = useState(own);
  // The header applies to the console only: leaving it, every page is the admin's own tenant again.
  api.actAs(claims?.platform && tenant !== own ? tenant : null);
  useEffect(() => () => api.actAs(null), []);
  return (
    <div className="flex flex-col gap-4" data-testid="console">
      <PageHeader
        title={t("console.title")}
        actions={claims?.platform ? <TenantSwitcher value={tenant} onChange={setTenant} /> : undefined}
      />
      <nav aria-label={t("console.title")} className="-mt-2 overflow-x-auto border-b border-line">
        <ul className="flex gap-1">
          {TABS.map((tab) => (
            <li key={tab.to}>
              <NavLink
                to={tab.to}
                end
                className={({ isActive }) =>
                  cx("block whitespace-nowrap border-b-2 px-3 py-2 text-sm", isActive ? "border-accent text-fg" : "border-transparent text-muted hover:text-fg")
                }
              >
                {t(tab.key)}
              </NavLink>
            </li>
          ))}
        </ul>
      </nav>
      <Routes key={tenant}>
        <Route index element={<System />} />
        <Route path="documents" element={<Documents />} />
        <Route path="models" element={<Models />} />
        <Route path="knowledge" element={<Knowledge />} />
        <Route path="tenants" element={<Tenants />} />
        <Route path="audit" element={<Audit />} />
      </Routes>
    </div>
  );
}
