import { NavLink, Route, Routes } from "react-router";
import { cx, PageHeader } from "../../components/ui";
import { useI18n, type Key } from "../../lib/i18n";
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

export default function Console() {
  const { t } = useI18n();
  return (
    <div className="flex flex-col gap-4" data-testid="console">
      <PageHeader title={t("console.title")} />
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
      <Routes>
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
