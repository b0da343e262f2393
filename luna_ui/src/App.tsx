import { lazy, Suspense, type ReactNode } from "react";
import { Navigate, Route, Routes } from "react-router";
import { ChartThemeContext } from "./components/Chart";
import { Footer, Layout } from "./components/Layout";
import { Card, Spinner } from "./components/ui";
import { useAuth } from "./lib/auth";
import { useI18n } from "./lib/i18n";
import { TenantProvider } from "./lib/tenant";
import { useTheme } from "./lib/theme";
import { Home } from "./pages/Home";
import { Login } from "./pages/Login";
import { AcceptInvitation } from "./pages/AcceptInvitation";

// Pages beyond Home load on demand, so the first paint after sign-in ships only what it shows.
const Prices = lazy(() => import("./pages/Prices"));
const MeterPage = lazy(() => import("./pages/Meter"));
const Playbook = lazy(() => import("./pages/Playbook"));
const Support = lazy(() => import("./pages/Support"));
const Console = lazy(() => import("./pages/console/Console"));

function Legal({ kind }: { kind: "imprint" | "privacy" }) {
  const { t } = useI18n();
  return (
    <Card title={t(kind === "imprint" ? "legal.imprint" : "legal.privacy")}>
      <p className="max-w-prose text-sm text-muted">{t(kind === "imprint" ? "legal.imprintBody" : "legal.privacyBody")}</p>
    </Card>
  );
}

function AdminOnly({ children }: { children: ReactNode }) {
  const { isAdmin } = useAuth();
  const { t } = useI18n();
  if (!isAdmin) {
    return (
      <Card>
        <p role="alert" data-testid="forbidden">{t("forbidden")}</p>
      </Card>
    );
  }
  return <>{children}</>;
}

export function App() {
  const { session, userKey, login, expired } = useAuth();
  const { t } = useI18n();
  const [theme, toggleTheme] = useTheme(userKey);

  if (!session) {
    return (
      <ChartThemeContext.Provider value={theme}>
        <Routes>
          <Route path="/imprint" element={<PublicPage theme={theme}><Legal kind="imprint" /></PublicPage>} />
          <Route path="/privacy" element={<PublicPage theme={theme}><Legal kind="privacy" /></PublicPage>} />
          <Route path="/invite" element={<PublicPage theme={theme}><AcceptInvitation /></PublicPage>} />
          <Route
            path="*"
            element={
              <>
                <Login onLogin={login} theme={theme} onToggleTheme={toggleTheme} notice={expired ? t("login.expired") : undefined} />
                <Footer signedIn={false} />
              </>
            }
          />
        </Routes>
      </ChartThemeContext.Provider>
    );
  }

  return (
    <ChartThemeContext.Provider value={theme}>
      <TenantProvider>
        <Layout theme={theme} onToggleTheme={toggleTheme}>
          <Suspense fallback={<Spinner />}>
            <Routes>
              <Route path="/" element={<Home />} />
              <Route path="/prices" element={<Prices />} />
              <Route path="/consumption" element={<MeterPage />} />
              <Route path="/strategies" element={<Playbook />} />
              <Route path="/help" element={<Support />} />
              <Route path="/console/*" element={<AdminOnly><Console /></AdminOnly>} />
              <Route path="/imprint" element={<Legal kind="imprint" />} />
              <Route path="/privacy" element={<Legal kind="privacy" />} />
              <Route path="/login" element={<Navigate to="/" replace />} />
              <Route path="*" element={<Card><p>{t("notFound")}</p></Card>} />
            </Routes>
          </Suspense>
        </Layout>
      </TenantProvider>
    </ChartThemeContext.Provider>
  );
}

function PublicPage({ children }: { children: ReactNode; theme: "dark" | "light" }) {
  return (
    <div className="flex min-h-screen flex-col">
      <main id="main" className="mx-auto w-full max-w-3xl flex-1 px-4 py-10">{children}</main>
      <Footer signedIn={false} />
    </div>
  );
}
