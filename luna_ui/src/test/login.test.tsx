import { act, render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { ApiError } from "../lib/api";
import { I18nProvider, LANG_STORAGE_KEY } from "../lib/i18n";
import { Login } from "../pages/Login";

function renderLogin(onLogin: (email: string, password: string) => Promise<void>) {
  localStorage.setItem(LANG_STORAGE_KEY, "en");
  render(
    <I18nProvider>
      <Login onLogin={onLogin} theme="dark" onToggleTheme={() => undefined} />
    </I18nProvider>,
  );
}

async function submit(email: string, password: string) {
  const user = userEvent.setup();
  if (email) await user.type(screen.getByLabelText("E-mail"), email);
  if (password) await user.type(screen.getByLabelText("Password"), password);
  await act(() => user.click(screen.getByRole("button", { name: "Sign in" })));
}

describe("login form", () => {
  it("asks for both fields before calling the server", async () => {
    const calls: string[] = [];
    renderLogin(async (email) => void calls.push(email));
    await submit("", "");
    expect(screen.getByRole("alert")).toHaveTextContent("Please enter your e-mail and password.");
    expect(calls).toEqual([]);
  });

  it("rejects a malformed e-mail address", async () => {
    const calls: string[] = [];
    renderLogin(async (email) => void calls.push(email));
    await submit("not-an-address", "secret secret");
    expect(screen.getByRole("alert")).toHaveTextContent("not a valid e-mail");
    expect(calls).toEqual([]);
  });

  it("says the credentials are wrong on 401 and keeps the form usable", async () => {
    renderLogin(async () => {
      throw new ApiError(401, "unauthorized", "invalid e-mail or password");
    });
    await submit("ada@example.com", "wrong password");
    expect(screen.getByRole("alert")).toHaveTextContent("E-mail or password is wrong.");
    expect(screen.getByRole("button", { name: "Sign in" })).toBeEnabled();
    expect(screen.getByLabelText("Password")).toHaveAttribute("aria-invalid", "true");
  });

  it("tells a locked-out user how long to wait (Retry-After)", async () => {
    renderLogin(async () => {
      throw new ApiError(429, "too_many_requests", "locked", 900);
    });
    await submit("ada@example.com", "whatever it is");
    expect(screen.getByRole("alert")).toHaveTextContent("try again in 15 minutes");
  });

  it("distinguishes an unreachable server from wrong credentials", async () => {
    renderLogin(async () => {
      throw new TypeError("Failed to fetch");
    });
    await submit("ada@example.com", "whatever it is");
    expect(screen.getByRole("alert")).toHaveTextContent("cannot be reached");
  });

  it("passes the trimmed e-mail and the password on", async () => {
    const calls: [string, string][] = [];
    renderLogin(async (email, password) => void calls.push([email, password]));
    await submit("  ada@example.com ", "correct horse");
    expect(calls).toEqual([["ada@example.com", "correct horse"]]);
  });
});
