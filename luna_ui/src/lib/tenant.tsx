import { createContext, useContext, type ReactNode } from "react";
import { api } from "./api";
import { useAuth } from "./auth";
import type { Tenant } from "./types";
import { useApi } from "./useApi";

const fallback: Tenant = {
  id: "",
  name: "",
  kind: "",
  zone: "DE-LU",
  timezone: "Europe/Berlin",
  state: null,
  status: "active",
  share_anonymised: true,
};

const TenantContext = createContext<Tenant>(fallback);

/** The caller's tenant (time zone and bidding zone drive every chart and date). */
export function TenantProvider({ children }: { children: ReactNode }) {
  const { claims } = useAuth();
  const tenantId = claims?.tenant ?? "";
  const state = useApi(tenantId ? () => api.get<Tenant>(`/tenants/${encodeURIComponent(tenantId)}`) : null, tenantId);
  return <TenantContext.Provider value={state.data ?? { ...fallback, id: tenantId }}>{children}</TenantContext.Provider>;
}

export function useTenant(): Tenant {
  return useContext(TenantContext);
}
