// The domain's vocabulary for talking to Windows hosts. The core knows cmdlet names and parameter values
// as data; how they reach PowerShell is the agent adapter's business (src/agent/).

/** Where a step must run: `internal` reaches the Central Management Store; `edge` reads an Edge's local store. */
export type Role = 'internal' | 'edge';
export const ROLES: readonly Role[] = ['internal', 'edge'];

/** A parameter value. `true` also stands for a switch (`-LocalStore`); `false` for `-Confirm:$false`. */
export type ParamValue = string | number | boolean | null;

/** One cmdlet call, as data: never script text. */
export interface Invocation {
  cmdlet: string;
  parameters: Record<string, ParamValue>;
}

/** Why an invocation did not succeed. `powershell`: the cmdlet itself failed; the rest are the agent's faults. */
export type FailureKind = 'powershell' | 'timeout' | 'agent' | 'refused' | 'output';

export interface InvocationFailure {
  kind: FailureKind;
  message: string;
  /** PowerShell's CategoryInfo category, e.g. ResourceExists, ObjectNotFound */
  category?: string;
  /** PowerShell's FullyQualifiedErrorId */
  errorId?: string;
  exceptionType?: string;
  /** what an operator can do about it, for known failures */
  hint?: string;
}

export type InvocationResult =
  /** warnings: what the cmdlet wrote to its warning stream (the real Lync cmdlets do), shown under the step */
  | { ok: true; output: Record<string, unknown>[]; durationMs: number; agent: string; warnings?: string[] }
  | { ok: false; error: InvocationFailure; durationMs: number; agent: string };

/** What the core needs of an agent: run one invocation on a host that serves some roles. */
export interface Agent {
  readonly name: string;
  readonly roles: readonly Role[];
  invoke(invocation: Invocation): Promise<InvocationResult>;
  close(): Promise<void>;
}
