import { act, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { api } from "../lib/api";
import { AuthProvider, useAuth } from "../lib/auth";

function Who() {
  const { session } = useAuth();
  return <p data-testid="who">{session ? session.refresh : "signed out"}</p>;
}

describe("AuthProvider", () => {
  afterEach(() => {
    vi.restoreAllMocks();
    api.setSession(null, null);
  });

  it("shows a session that arrived between the first render and the subscription", () => {
    // Without storage, another tab answers "ask" by message: the answer can land after the provider
    // read the (empty) session for its first render but before its effect subscribed.
    const subscribe = api.subscribe.bind(api);
    vi.spyOn(api, "subscribe").mockImplementation((listener) => {
      api.setSession({ access: "a.b.c", refresh: "from-the-other-tab" }, null);
      return subscribe(listener);
    });
    act(() => {
      render(
        <AuthProvider>
          <Who />
        </AuthProvider>,
      );
    });
    expect(screen.getByTestId("who")).toHaveTextContent("from-the-other-tab");
  });
});
