import { useEffect, useRef, useState, type FormEvent } from "react";
import { useSearchParams } from "react-router";
import { Badge, Button, Card, inputClass, PageHeader, Spinner, Unavailable } from "../components/ui";
import { api, ApiError } from "../lib/api";
import { useI18n, type Key } from "../lib/i18n";
import { useApi } from "../lib/useApi";
import type { Answer, Chunk, Citation, Page } from "../lib/types";

interface Turn {
  question: string;
  answer?: Answer;
  error?: string;
  feedback?: "up" | "down";
}

const SUGGESTED: Key[] = ["support.q1", "support.q2", "support.q3", "support.q4"];
/** GET /rag/help: topics Luna writes for the tenant from its own data. */
interface HelpTopic {
  key: string;
  title: string;
  text: string;
}

/* The general texts, shown until (or if ever) the tenant's own are unavailable. */
const HELP: [Key, Key][] = [
  ["support.help.kpis.title", "support.help.kpis.body"],
  ["support.help.prices.title", "support.help.prices.body"],
  ["support.help.playbook.title", "support.help.playbook.body"],
];

/** The cited passage: the whole chunk from the document when it can be read, else the snippet. */
function SourceViewer({ citation, onClose }: { citation: Citation; onClose: () => void }) {
  const { t } = useI18n();
  const dialog = useRef<HTMLDialogElement>(null);
  const [chunk, setChunk] = useState<Chunk | null | undefined>(undefined);
  useEffect(() => {
    dialog.current?.showModal?.();
    let cancelled = false;
    (async () => {
      try {
        for (let offset: number | null = 0; offset !== null; ) {
          const page: Page<Chunk> = await api.get<Page<Chunk>>(`/documents/${encodeURIComponent(citation.document_id)}/chunks`, { limit: 200, offset });
          const found = page.items.find((c) => c.id === citation.chunk_id);
          if (found) {
            if (!cancelled) setChunk(found);
            return;
          }
          offset = page.next_offset;
        }
        if (!cancelled) setChunk(null);
      } catch {
        if (!cancelled) setChunk(null);
      }
    })();
    return () => {
      cancelled = true;
    };
  }, [citation]);
  return (
    <dialog
      ref={dialog}
      onClose={onClose}
      aria-labelledby="source-title"
      data-testid="source-viewer"
      className="m-auto w-[min(42rem,calc(100vw-2rem))] rounded-xl border border-line bg-card p-0 text-fg backdrop:bg-black/60"
    >
      <div className="flex items-start justify-between gap-3 border-b border-line p-4">
        <div>
          <div className="text-xs text-muted">{t("support.source")} [{citation.n}]</div>
          <h2 id="source-title" className="font-semibold">
            {citation.title}
            {citation.page != null && <span className="ml-2 text-sm font-normal text-muted">{t("support.page", { n: citation.page })}</span>}
          </h2>
        </div>
        <Button variant="ghost" onClick={() => dialog.current?.close()} aria-label={t("common.close")}>✕</Button>
      </div>
      <div className="max-h-[60vh] overflow-auto p-4 text-sm leading-relaxed">
        {chunk === undefined ? (
          <Spinner />
        ) : (
          <>
            {chunk?.heading && <h3 className="mb-2 font-medium">{chunk.heading}</h3>}
            <p className="whitespace-pre-wrap" data-testid="source-text">{chunk?.text ?? citation.snippet}</p>
          </>
        )}
      </div>
    </dialog>
  );
}

export default function SupportPage() {
  const { t, lang } = useI18n();
  const [params, setParams] = useSearchParams();
  const [turns, setTurns] = useState<Turn[]>([]);
  const [input, setInput] = useState("");
  const [busy, setBusy] = useState(false);
  const [missing, setMissing] = useState(false);
  const [sessionId, setSessionId] = useState<string | null>(null);
  const [open, setOpen] = useState<Citation | null>(null);
  const log = useRef<HTMLOListElement>(null);
  const help = useApi(() => api.get<{ topics: HelpTopic[] }>("/rag/help", { language: lang }), `help-${lang}`);

  async function ask(question: string) {
    const text = question.trim();
    if (!text || busy) return;
    setInput("");
    setBusy(true);
    setTurns((ts) => [...ts, { question: text }]);
    try {
      const answer = await api.request<Answer>("POST", "/rag/ask", { question: text, session_id: sessionId });
      setSessionId(answer.session_id);
      setTurns((ts) => ts.map((turn, i) => (i === ts.length - 1 ? { ...turn, answer } : turn)));
    } catch (caught) {
      if (caught instanceof ApiError && (caught.status === 404 || caught.status === 405)) setMissing(true);
      setTurns((ts) => ts.map((turn, i) => (i === ts.length - 1 ? { ...turn, error: (caught as Error).message } : turn)));
    } finally {
      setBusy(false);
    }
  }

  // A question handed over from the home page is asked once.
  const handedOver = useRef(false);
  useEffect(() => {
    const q = params.get("q");
    if (q && !handedOver.current) {
      handedOver.current = true; // React's development double effects must not ask twice
      setParams({}, { replace: true });
      void ask(q);
    }
    // only on arrival
  }, []);

  useEffect(() => {
    log.current?.lastElementChild?.scrollIntoView?.({ block: "end", behavior: "smooth" });
  }, [turns]);

  async function rate(index: number, rating: "up" | "down") {
    const answer = turns[index].answer;
    if (!answer) return;
    try {
      await api.request("POST", "/feedback", { answer_id: answer.answer_id, rating, comment: null });
      setTurns((ts) => ts.map((turn, i) => (i === index ? { ...turn, feedback: rating } : turn)));
    } catch (caught) {
      setTurns((ts) => ts.map((turn, i) => (i === index ? { ...turn, error: (caught as Error).message } : turn)));
    }
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    void ask(input);
  }

  return (
    <div className="flex flex-col gap-6">
      <PageHeader title={t("support.title")} subtitle={t("support.subtitle")} />
      <div className="grid grid-cols-1 gap-6 lg:grid-cols-3">
        <Card className="lg:col-span-2" testId="chat">
          {missing && <div className="mb-3"><Unavailable /></div>}
          <ol ref={log} aria-live="polite" className="flex max-h-[60vh] min-h-48 flex-col gap-4 overflow-y-auto pr-1">
            {turns.map((turn, index) => (
              <li key={index} className="flex flex-col gap-2">
                <div className="self-end rounded-2xl rounded-br-sm bg-accent px-4 py-2 text-sm text-accent-fg">{turn.question}</div>
                {turn.answer ? (
                  <div className="max-w-[90%] self-start rounded-2xl rounded-bl-sm border border-line bg-raised px-4 py-3 text-sm" data-testid="answer">
                    <div className="mb-1"><Badge tone="neutral">{t(`support.mode.${turn.answer.mode}`)}</Badge></div>
                    <p className="whitespace-pre-wrap leading-relaxed">{turn.answer.answer}</p>
                    {turn.answer.data.length > 0 && (
                      <dl className="mt-2 grid grid-cols-2 gap-x-4 gap-y-1 text-xs">
                        {turn.answer.data.map((d) => (
                          <div key={d.label} className="contents">
                            <dt className="text-muted">{d.label}</dt>
                            <dd className="tabular-nums">{d.value} {d.unit ?? ""}</dd>
                          </div>
                        ))}
                      </dl>
                    )}
                    {turn.answer.citations.length > 0 && (
                      <div className="mt-3">
                        <div className="text-xs font-medium text-muted">{t("support.sources")}</div>
                        <ul className="mt-1 flex flex-wrap gap-2">
                          {turn.answer.citations.map((c) => (
                            <li key={`${c.n}-${c.chunk_id}`}>
                              <button
                                type="button"
                                onClick={() => setOpen(c)}
                                data-testid="citation"
                                className="rounded-md border border-line bg-card px-2 py-1 text-xs hover:border-accent"
                              >
                                [{c.n}] {c.title}{c.page != null ? ` · ${t("support.page", { n: c.page })}` : ""}
                              </button>
                            </li>
                          ))}
                        </ul>
                      </div>
                    )}
                    <div className="mt-3 flex items-center gap-2">
                      {turn.feedback ? (
                        <span className="text-xs text-muted" data-testid="feedback-thanks">{t("support.thanks")}</span>
                      ) : (
                        <>
                          <Button variant="ghost" aria-label={t("support.helpful")} title={t("support.helpful")} onClick={() => void rate(index, "up")} data-testid="thumbs-up"><Thumb /></Button>
                          <Button variant="ghost" aria-label={t("support.notHelpful")} title={t("support.notHelpful")} onClick={() => void rate(index, "down")}><Thumb down /></Button>
                        </>
                      )}
                    </div>
                  </div>
                ) : turn.error ? (
                  <div role="alert" className="self-start rounded-lg border border-bad/40 bg-bad/10 px-3 py-2 text-sm text-bad">{turn.error}</div>
                ) : (
                  <div className="self-start text-sm text-muted">{t("support.thinking")}</div>
                )}
              </li>
            ))}
          </ol>
          <form onSubmit={submit} className="mt-4 flex gap-2">
            <label htmlFor="chat-input" className="sr-only">{t("support.placeholder")}</label>
            <input id="chat-input" value={input} onChange={(e) => setInput(e.target.value)} placeholder={t("support.placeholder")} className={`${inputClass} flex-1`} lang={lang} />
            <Button type="submit" variant="primary" disabled={busy || !input.trim()} data-testid="chat-send">{t("support.send")}</Button>
          </form>
        </Card>
        <div className="flex flex-col gap-6">
          <Card title={t("support.suggested")}>
            <ul className="flex flex-col gap-2">
              {SUGGESTED.map((key) => (
                <li key={key}>
                  <button type="button" onClick={() => void ask(t(key))} className="w-full rounded-lg border border-line bg-raised px-3 py-2 text-left text-sm hover:border-accent">
                    {t(key)}
                  </button>
                </li>
              ))}
            </ul>
          </Card>
          <Card title={t("support.helpTexts")}>
            <div className="flex flex-col gap-2">
              {(help.data?.topics ?? HELP.map(([title, body]) => ({ key: title, title: t(title), text: t(body) }))).map((topic) => (
                <details key={topic.key} className="rounded-lg border border-line bg-raised px-3 py-2 text-sm" data-testid={`help-${topic.key}`}>
                  <summary className="cursor-pointer font-medium">{topic.title}</summary>
                  <p className="mt-2 text-muted">{topic.text}</p>
                </details>
              ))}
            </div>
          </Card>
        </div>
      </div>
      {open && <SourceViewer citation={open} onClose={() => setOpen(null)} />}
    </div>
  );
}

/* Drawn, not an emoji: a browser without an emoji font (Debian's chromium has none) shows empty boxes. */
function Thumb({ down = false }: { down?: boolean }) {
  return (
    <svg width="18" height="18" viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="2"
      strokeLinejoin="round" aria-hidden style={down ? { transform: "rotate(180deg)" } : undefined}>
      <rect x="3" y="10" width="4" height="11" rx="1" />
      <path d="M7 11 11 3c1.5 0 2.5 1 2.5 2.5V9H19c1.1 0 2 1 1.8 2.1l-1.3 8.1c-.2 1-1 1.8-2 1.8H7" />
    </svg>
  );
}
