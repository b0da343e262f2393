import { useRef, useState, type ChangeEvent } from "react";
import { Badge, Button, Card, ErrorNote, Loadable } from "../../components/ui";
import { api } from "../../lib/api";
import { fmtBytes, fmtDateTime } from "../../lib/format";
import { useI18n } from "../../lib/i18n";
import type { Chunk, DocumentOut, Page } from "../../lib/types";
import { useApi } from "../../lib/useApi";

const STATUS_TONE = { queued: "neutral", processing: "warn", indexed: "good", needs_attention: "warn", failed: "bad" } as const;

export function Documents() {
  const { t, locale } = useI18n();
  const docs = useApi(() => api.get<Page<DocumentOut>>("/documents", { limit: 200 }), "documents", 3_000);
  const [progress, setProgress] = useState<number | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [chunksOf, setChunksOf] = useState<DocumentOut | null>(null);
  const input = useRef<HTMLInputElement>(null);

  async function upload(event: ChangeEvent<HTMLInputElement>) {
    const file = event.target.files?.[0];
    if (!file) return;
    setError(null);
    setNotice(null);
    setProgress(0);
    try {
      const { body } = await api.upload<DocumentOut>("/ingest/doc", file, setProgress);
      if (body.duplicate) setNotice(t("console.duplicate"));
      docs.reload();
    } catch (caught) {
      setError(caught as Error);
    } finally {
      setProgress(null);
      if (input.current) input.current.value = "";
    }
  }

  async function act(doc: DocumentOut, action: "reindex" | "delete") {
    setError(null);
    if (action === "delete" && !window.confirm(t("console.confirmDelete", { name: doc.filename }))) return;
    try {
      if (action === "delete") await api.request("DELETE", `/documents/${encodeURIComponent(doc.id)}`);
      else await api.request("POST", `/documents/${encodeURIComponent(doc.id)}/reindex`);
      docs.reload();
    } catch (caught) {
      setError(caught as Error);
    }
  }

  return (
    <div className="flex flex-col gap-6">
      <Card
        title={t("console.documents")}
        actions={
          <>
            <label className="inline-flex cursor-pointer items-center gap-2 rounded-lg bg-accent px-3 py-2 text-sm font-medium text-accent-fg focus-within:outline focus-within:outline-2">
              {t("console.upload")}
              <input ref={input} type="file" className="sr-only" onChange={upload} data-testid="upload-input" accept=".pdf,.docx,.md,.txt,.html,.htm" />
            </label>
          </>
        }
        testId="documents"
      >
        {progress !== null && (
          <div className="mb-3" data-testid="upload-progress">
            <div className="text-xs text-muted">{t("console.uploading", { pct: Math.round(progress * 100) })}</div>
            <progress className="w-full" max={1} value={progress} aria-label={t("console.upload")} />
          </div>
        )}
        {notice && <p className="mb-3 text-sm text-warn">{notice}</p>}
        {error && <div className="mb-3"><ErrorNote error={error} /></div>}
        <Loadable state={docs}>
          {(page) =>
            page.items.length === 0 ? (
              <p className="text-sm text-muted">{t("console.noDocuments")}</p>
            ) : (
              <div className="overflow-x-auto">
                <table className="w-full text-sm">
                  <thead className="text-left text-xs text-muted">
                    <tr>
                      <th scope="col" className="py-2">{t("console.filename")}</th>
                      <th scope="col">{t("common.status")}</th>
                      <th scope="col">{t("console.chunks")}</th>
                      <th scope="col">{t("console.size")}</th>
                      <th scope="col">{t("console.created")}</th>
                      <th scope="col" className="sr-only">Actions</th>
                    </tr>
                  </thead>
                  <tbody>
                    {page.items.map((doc) => (
                      <tr key={doc.id} className="border-t border-line" data-testid="document-row" data-filename={doc.filename} data-status={doc.status}>
                        <td className="py-2">
                          <div className="font-medium">{doc.title || doc.filename}</div>
                          <div className="text-xs text-muted">{doc.filename}{doc.language ? ` · ${doc.language}` : ""}</div>
                        </td>
                        <td>
                          <Badge tone={STATUS_TONE[doc.status]}>{doc.status}</Badge>
                          {doc.error && <div className={`text-xs ${doc.status === "needs_attention" ? "text-warn" : "text-bad"}`}>{doc.error}</div>}
                        </td>
                        <td className="tabular-nums">{doc.chunk_count}</td>
                        <td className="tabular-nums">{fmtBytes(doc.size_bytes, locale)}</td>
                        <td className="text-xs">{fmtDateTime(doc.created_at, locale)}</td>
                        <td className="whitespace-nowrap py-2 text-right">
                          <Button variant="ghost" onClick={() => setChunksOf(doc)} disabled={!doc.chunk_count}>{t("console.chunks")}</Button>
                          <Button variant="ghost" onClick={() => void act(doc, "reindex")}>{t("console.reindex")}</Button>
                          <Button variant="danger" onClick={() => void act(doc, "delete")} data-testid="delete-document">{t("common.delete")}</Button>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )
          }
        </Loadable>
      </Card>
      {chunksOf && <Chunks doc={chunksOf} onClose={() => setChunksOf(null)} />}
    </div>
  );
}

function Chunks({ doc, onClose }: { doc: DocumentOut; onClose: () => void }) {
  const { t } = useI18n();
  const chunks = useApi(() => api.get<Page<Chunk>>(`/documents/${encodeURIComponent(doc.id)}/chunks`, { limit: 500 }), `chunks-${doc.id}`);
  return (
    <Card title={`${t("console.chunks")}: ${doc.title || doc.filename}`} actions={<Button onClick={onClose}>{t("common.close")}</Button>} testId="chunk-viewer">
      <Loadable state={chunks}>
        {(page) => (
          <ol className="flex flex-col gap-3">
            {page.items.map((c) => (
              <li key={c.id} className="rounded-lg border border-line bg-raised p-3 text-sm">
                <div className="mb-1 text-xs text-muted">#{c.position}{c.page != null ? ` · ${t("support.page", { n: c.page })}` : ""}{c.heading ? ` · ${c.heading}` : ""} · {c.token_count} tokens</div>
                <p className="whitespace-pre-wrap">{c.text}</p>
              </li>
            ))}
          </ol>
        )}
      </Loadable>
    </Card>
  );
}
