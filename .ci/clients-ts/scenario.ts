// One scenario through the TypeScript client made from the live OpenAPI document
// (openapi-typescript types, openapi-fetch calls), as a frontend would use it: type-checked with
// `tsc --strict`, no cast, no hand-written type. Run by .ci/clients, which generates
// generated/schema.d.ts and starts the service.
//
//   node build/scenario.js BASE_URL TOKEN
import createClient from "openapi-fetch";
import type { paths } from "./generated/schema.js";

const REPORT = "Essex PEEL 2019\nIs it good?\nAreas for improvement\n- The force should act.\n";

function check(condition: boolean, what: string): void {
  if (!condition) {
    throw new Error(`ts client: ${what}`);
  }
  console.log(`ts client: ${what}`);
}

async function main(baseUrl: string, token: string): Promise<void> {
  const client = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${token}` } });

  // The list, filtered, and its second page by cursor.
  const first = await client.GET("/api/v1/actions", {
    params: { query: { status: ["open"], priority: ["medium"], limit: 2 } },
  });
  if (first.data === undefined) throw new Error(first.error.title);
  const page = first.data;
  check(page.items.length === 2 && page.items.every((a) => a.status === "open"), "a page of open actions");
  check(first.response.headers.get("Link")?.includes('rel="next"') ?? false, "Link to the next page");
  const cursor = page.next_cursor;
  if (cursor === null) throw new Error("no next page");
  const second = await client.GET("/api/v1/actions", {
    params: { query: { status: ["open"], priority: ["medium"], limit: 2, cursor } },
  });
  if (second.data === undefined) throw new Error(second.error.title);
  const last = page.items[page.items.length - 1];
  check(last !== undefined && (second.data.items[0]?.id ?? 0) > last.id, "page 2 by cursor");

  // One action, and a change guarded by its ETag.
  const action = page.items[0];
  if (action === undefined) throw new Error("no action");
  const path = { action_id: action.id };
  const read = await client.GET("/api/v1/actions/{action_id}", { params: { path } });
  const etag = read.response.headers.get("ETag");
  if (read.data === undefined || etag === null) throw new Error("no action or no ETag");
  const changed = await client.PATCH("/api/v1/actions/{action_id}", {
    params: { path, header: { "if-match": etag } },
    body: { priority: "high" },
  });
  if (changed.data === undefined) throw new Error(changed.error.title);
  check(changed.data.priority === "high", "PATCH with If-Match");
  const stale = await client.PATCH("/api/v1/actions/{action_id}", {
    params: { path, header: { "if-match": etag } },
    body: { priority: "low" },
  });
  const problem = stale.error;
  if (problem === undefined || problem.status !== 412) throw new Error("no 412");
  check(problem.current_etag === changed.response.headers.get("ETag"), "412 read as a typed problem");

  // A step the workflow does not allow: 409 naming the allowed ones.
  const refused = await client.POST("/api/v1/actions/{action_id}/transitions", {
    params: { path },
    body: { to: "completed" },
  });
  const conflict = refused.error;
  if (conflict === undefined || conflict.status !== 409) throw new Error("no 409");
  check(
    conflict.current_status === "open" && (conflict.allowed ?? []).includes("in_progress"),
    "refused transition (409 with allowed)",
  );

  // A note and a file as evidence, and the file back.
  const note = await client.POST("/api/v1/actions/{action_id}/evidence", {
    params: { path },
    body: { kind: "note", text: "Reviewed at the board." },
  });
  check(note.data?.kind === "note" && note.data.text === "Reviewed at the board.", "a note as evidence");
  const content = "Minutes of the board, 3 March.\n";
  const added = await client.POST("/api/v1/actions/{action_id}/evidence/files", {
    params: { path },
    body: { file: content, description: "Minutes" },
    bodySerializer(body) {
      const form = new FormData();
      form.append("file", new Blob([body.file], { type: "text/plain" }), "minutes.txt");
      if (body.description !== undefined) form.append("description", body.description);
      return form;
    },
  });
  if (added.data?.kind !== "file") throw new Error("no file evidence");
  check(added.data.size_bytes === content.length, "a file as evidence");
  const file = await client.GET("/api/v1/evidence/{evidence_id}/content", {
    params: { path: { evidence_id: added.data.id } },
    parseAs: "text",
  });
  check(file.data === content, "the file downloaded");

  // History, newest first.
  const history = await client.GET("/api/v1/actions/{action_id}/history", {
    params: { path, query: { sort: "-id", limit: 10 } },
  });
  if (history.data === undefined) throw new Error(history.error.title);
  const kinds = history.data.items.map((event) => event.kind);
  check(kinds[0] === "evidence_added" && kinds[1] === "evidence_added", "history, newest first");

  // Stats, and the CSV export.
  const stats = await client.GET("/api/v1/stats", { params: { query: { group_by: "priority" } } });
  if (stats.data === undefined) throw new Error(stats.error.title);
  check(stats.data.totals.total >= page.items.length, "stats by priority");
  const csv = await client.GET("/api/v1/actions.csv", {
    params: { query: { status: ["open"] } },
    parseAs: "text",
  });
  if (csv.data === undefined) throw new Error(csv.error.title);
  const rows = csv.data.split("\r\n");
  check((rows[0] ?? "").startsWith("id,reference,") && rows.length > page.items.length, "CSV export");

  // Report text as text/plain, parsed only.
  const parsed = await client.POST("/api/v1/reports", {
    params: { query: { dry_run: true } },
    body: REPORT,
    bodySerializer: (body) => body,
    headers: { "Content-Type": "text/plain" },
  });
  if (parsed.data === undefined) throw new Error(parsed.error.title);
  if ("created" in parsed.data) throw new Error("stored, not a dry run");
  check(parsed.data.force === "Essex", "report text, dry run");
}

const [baseUrl, token] = process.argv.slice(2);
if (baseUrl === undefined || token === undefined) throw new Error("usage: scenario.js BASE_URL TOKEN");
await main(baseUrl, token);
