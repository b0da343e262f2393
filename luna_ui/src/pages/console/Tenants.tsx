import { useState, type FormEvent } from "react";
import { Badge, Button, Card, ErrorNote, Field, inputClass, Loadable } from "../../components/ui";
import { api } from "../../lib/api";
import { useAuth } from "../../lib/auth";
import { fmtDateTime } from "../../lib/format";
import { useI18n } from "../../lib/i18n";
import type { Page, Tenant, User } from "../../lib/types";
import { useApi } from "../../lib/useApi";

export function Tenants() {
  const { t, locale } = useI18n();
  const { claims } = useAuth();
  const tenants = useApi(() => api.get<Page<Tenant>>("/tenants"), "tenants");
  const users = useApi(() => api.get<Page<User>>("/users"), "users");
  const [email, setEmail] = useState("");
  const [invited, setInvited] = useState<string | null>(null);
  const [role, setRole] = useState<"customer" | "admin">("customer");
  const [error, setError] = useState<Error | null>(null);

  async function addUser(event: FormEvent) {
    event.preventDefault();
    setError(null);
    setInvited(null);
    try {
      await api.request("POST", "/users", { email, role });
      setInvited(email);
      setEmail("");
      users.reload();
    } catch (caught) {
      setError(caught as Error);
    }
  }

  async function disable(user: User) {
    setError(null);
    try {
      await api.request("POST", `/users/${user.id}/disable`);
      users.reload();
    } catch (caught) {
      setError(caught as Error);
    }
  }

  return (
    <div className="flex flex-col gap-6">
      {error && <ErrorNote error={error} />}
      <Card title={t("console.tenant")} testId="tenants">
        <Loadable state={tenants}>
          {(page) => (
            <div className="overflow-x-auto">
              <table className="w-full text-sm">
                <thead className="text-left text-xs text-muted">
                  <tr>
                    <th scope="col" className="py-2">ID</th>
                    <th scope="col">Name</th>
                    <th scope="col">{t("console.zone")}</th>
                    <th scope="col">{t("console.timezone")}</th>
                    <th scope="col">{t("common.status")}</th>
                  </tr>
                </thead>
                <tbody>
                  {page.items.map((tenant) => (
                    <tr key={tenant.id} className="border-t border-line">
                      <td className="py-2 font-mono text-xs">{tenant.id}</td>
                      <td>{tenant.name}</td>
                      <td>{tenant.zone}</td>
                      <td>{tenant.timezone}</td>
                      <td><Badge tone={tenant.status === "active" ? "good" : "neutral"}>{tenant.status}</Badge></td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </Loadable>
      </Card>
      <Card title={t("console.users")} testId="users">
        <form onSubmit={addUser} className="mb-4 flex flex-wrap items-end gap-2">
          <Field label={t("console.email")} htmlFor="new-email">
            <input id="new-email" type="email" required value={email} onChange={(e) => setEmail(e.target.value)} className={inputClass} />
          </Field>
          <Field label={t("console.role")} htmlFor="new-role">
            <select id="new-role" value={role} onChange={(e) => setRole(e.target.value as "customer" | "admin")} className={inputClass}>
              <option value="customer">{t("user.role.customer")}</option>
              <option value="admin">{t("user.role.admin")}</option>
            </select>
          </Field>
          <Button type="submit" variant="primary">{t("console.addUser")}</Button>
        </form>
        {invited && <p className="mb-4 text-sm" role="status">{t("console.invited", { email: invited })}</p>}
        <Loadable state={users}>
          {(page) => (
            <div className="overflow-x-auto">
              <table className="w-full text-sm">
                <thead className="text-left text-xs text-muted">
                  <tr>
                    <th scope="col" className="py-2">{t("console.email")}</th>
                    <th scope="col">{t("console.role")}</th>
                    <th scope="col">{t("console.active")}</th>
                    <th scope="col">{t("console.lastLogin")}</th>
                    <th scope="col" className="sr-only">Actions</th>
                  </tr>
                </thead>
                <tbody>
                  {page.items.map((user) => (
                    <tr key={user.id} className="border-t border-line">
                      <td className="py-2">{user.email}</td>
                      <td>{user.is_platform_admin ? "platform admin" : user.role}</td>
                      <td>{user.is_active ? t("common.yes") : t("common.no")}</td>
                      <td className="text-xs">{fmtDateTime(user.last_login_at, locale)}</td>
                      <td className="text-right">
                        {user.is_active && String(user.id) !== claims?.sub && (
                          <Button variant="danger" onClick={() => void disable(user)}>{t("console.disable")}</Button>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </Loadable>
      </Card>
    </div>
  );
}
