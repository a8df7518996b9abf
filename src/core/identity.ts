// Who someone is in directory terms, for the audit: the Slack user, their profile email (the Directory port: Slack's
// users.info with users:read.email) and, where the policy maps it, their Active Directory account. The mapping is a
// table (email → account, from a CSV file the policy names) or a rule for the domains it lists ("CONTOSO\{local}");
// the table wins, so the exceptions of a rule are listed rather than coded.
import type { Directory } from './ports.js';

export interface Identity {
  /** the front end's user id (Slack: U0123ABCDEF) */
  user: string;
  /** the directory's email, lower-cased; absent when the directory does not say */
  email?: string;
  /** DOMAIN\sAMAccountName (or whatever the rule makes), where the policy maps the email */
  account?: string;
}

export interface AccountMapping {
  /** `{local}`, `{domain}` and `{email}` are the parts of the email: `CONTOSO\{local}` */
  rule?: string;
  /** the email domains the rule applies to; none: every domain */
  domains?: string[];
  /** email (lower-cased) → account, checked first */
  table?: Record<string, string>;
}

/** The account an email maps to, or undefined when the policy does not map it. */
export function accountFor(mapping: AccountMapping | undefined, email: string | undefined): string | undefined {
  if (!mapping || !email) return undefined;
  const lower = email.toLowerCase();
  const listed = mapping.table?.[lower];
  if (listed) return listed;
  const at = lower.lastIndexOf('@');
  if (!mapping.rule || at < 1) return undefined;
  const local = lower.slice(0, at);
  const domain = lower.slice(at + 1);
  if (mapping.domains?.length && !mapping.domains.some((d) => d.toLowerCase() === domain)) return undefined;
  return mapping.rule.replaceAll('{local}', local).replaceAll('{domain}', domain).replaceAll('{email}', lower);
}

/**
 * The identity of `user` now. A directory that cannot say (no profile lookup, Slack away, no email scope) gives the
 * user id alone: the audit then says less, but a decision is never refused for it (the approver check decides).
 */
export async function identify(directory: Directory, mapping: AccountMapping | undefined, user: string, onError?: (err: unknown) => void): Promise<Identity> {
  let email: string | undefined;
  try {
    email = (await directory.profile?.(user))?.email?.toLowerCase() || undefined;
  } catch (err) {
    onError?.(err);
  }
  const account = accountFor(mapping, email);
  return { user, ...(email ? { email } : {}), ...(account ? { account } : {}) };
}

/**
 * `name (email, account)`: someone as a listing shows them, with what the directory said of them when they decided;
 * `name` alone when it said nothing. `escape` makes the directory's text safe where it is shown (Slack markup).
 */
export function withDirectory(name: string, who: { email?: string; account?: string } | undefined, escape: (text: string) => string = (t) => t): string {
  const known = [who?.email, who?.account].filter((x): x is string => !!x).map(escape).join(', ');
  return known ? `${name} (${known})` : name;
}

/** The identity fields an audit record or an approval keeps besides the user id. */
export const directoryFields = (who: Identity): { email?: string; account?: string } => ({ ...(who.email ? { email: who.email } : {}), ...(who.account ? { account: who.account } : {}) });
