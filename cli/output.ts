// The one JSON shape of every verb's --json output (docs/cli-json.md): any number of event lines,
// then exactly one final line, `{"ok":true,"command",...,"result"}` or `{"ok":false,"command",
// "error":{reason,code,message,hint?}}`, where `code` is the process's exit code.

export interface CliError {
  /** A stable name: "usage", "error", or an OTA reason name such as "signature". */
  reason: string;
  /** The exit code. */
  code: number;
  message: string;
  /** What to run for help. */
  hint?: string;
}

export function resultLine(command: string, result: Record<string, unknown>): string {
  return JSON.stringify({ ok: true, command, result });
}

export function errorLine(command: string, error: CliError): string {
  return JSON.stringify({ ok: false, command, error });
}

/** An event line: what happened (`kind`), when (ISO 8601 UTC; device time for the simulator), and its fields. */
export function eventLine(record: { kind: string } & Record<string, unknown>, at: Date): string {
  return JSON.stringify({ ...record, at: at.toISOString() });
}
