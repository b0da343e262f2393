import { act, render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter } from "react-router";
import { describe, expect, it } from "vitest";
import { LanguageSwitch } from "../components/Layout";
import { dictionaries, I18nProvider, initialLang, LANG_STORAGE_KEY, translate, useI18n } from "../lib/i18n";

function Greeting() {
  const { t } = useI18n();
  return <h1>{t("home.morning", { name: "Ada" })}</h1>;
}

describe("i18n", () => {
  it("follows the browser until the user chooses", () => {
    expect(initialLang(null, ["de-AT", "en"])).toBe("de");
    expect(initialLang(null, ["fr-FR", "de"])).toBe("en");
    expect(initialLang(null, [])).toBe("en");
    expect(initialLang("en", ["de-DE"])).toBe("en");
    expect(initialLang("xx", ["de-DE"])).toBe("de");
  });

  it("fills parameters and leaves unknown ones visible", () => {
    expect(translate("de", "home.morning", { name: "Ada" })).toBe("Guten Morgen, Ada");
    expect(translate("en", "login.locked", {})).toContain("{minutes}");
  });

  it("has a German text for every English key", () => {
    const english = Object.keys(dictionaries.en);
    expect(Object.keys(dictionaries.de).sort()).toEqual(english.sort());
    for (const key of english) expect(dictionaries.de[key as keyof typeof dictionaries.de].trim()).not.toBe("");
  });

  it("switches language in place and remembers the choice", async () => {
    localStorage.setItem(LANG_STORAGE_KEY, "en");
    render(
      <MemoryRouter>
        <I18nProvider>
          <LanguageSwitch />
          <Greeting />
        </I18nProvider>
      </MemoryRouter>,
    );
    expect(screen.getByRole("heading")).toHaveTextContent("Good morning, Ada");
    await act(() => userEvent.selectOptions(screen.getByLabelText("Language"), "de"));
    expect(screen.getByRole("heading")).toHaveTextContent("Guten Morgen, Ada");
    expect(localStorage.getItem(LANG_STORAGE_KEY)).toBe("de");
    expect(document.documentElement.lang).toBe("de");
  });
});
