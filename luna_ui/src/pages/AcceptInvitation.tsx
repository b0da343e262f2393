import { useState, type FormEvent } from "react";
import { Button, Card, ErrorNote, Field, inputClass } from "../components/ui";
import { api } from "../lib/api";
import { useI18n } from "../lib/i18n";

/** The link in an invitation e-mail: /invite#<token>. The token stays in the fragment, so it
 * never reaches a server log or a Referer header. */
export function AcceptInvitation() {
  const { t } = useI18n();
  const token = window.location.hash.slice(1);
  const [password, setPassword] = useState("");
  const [repeat, setRepeat] = useState("");
  const [error, setError] = useState<Error | null>(null);
  const [done, setDone] = useState<string | null>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    if (password !== repeat) {
      setError(new Error(t("invite.mismatch")));
      return;
    }
    try {
      const user = await api.request<{ email: string }>("POST", "/users/invitations/accept", { token, password });
      setDone(user.email);
    } catch (caught) {
      setError(caught as Error);
    }
  }

  return (
    <Card title={t("invite.title")} testId="accept-invitation">
      {done ? (
        <p>
          {t("invite.done", { email: done })} <a href="/" className="underline">{t("login.submit")}</a>
        </p>
      ) : !token ? (
        <p>{t("invite.noToken")}</p>
      ) : (
        <form onSubmit={submit} className="flex flex-col gap-3">
          {error && <ErrorNote error={error} />}
          <Field label={t("login.password")} htmlFor="invite-password">
            <input id="invite-password" type="password" required minLength={10} value={password} onChange={(e) => setPassword(e.target.value)} className={inputClass} autoComplete="new-password" />
          </Field>
          <Field label={t("invite.repeat")} htmlFor="invite-repeat">
            <input id="invite-repeat" type="password" required minLength={10} value={repeat} onChange={(e) => setRepeat(e.target.value)} className={inputClass} autoComplete="new-password" />
          </Field>
          <Button type="submit" variant="primary">{t("invite.submit")}</Button>
        </form>
      )}
    </Card>
  );
}
