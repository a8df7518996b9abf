// Every Slack Web API method the adapter calls, and the bot scope it needs. manifest.test.ts checks that the
// manifest asks for exactly these, and that no `client.<method>(` call in src/slack is missing from this table.
export const METHOD_SCOPES: Readonly<Record<string, string | null>> = {
  'chat.postMessage': 'chat:write',
  'chat.update': 'chat:write',
  'chat.postEphemeral': 'chat:write',
  'usergroups.users.list': 'usergroups:read',
  // names in `history`, so a listing names people without mentioning (and notifying) them; and each person's
  // locale (include_locale), so replies to them are in their language
  'users.info': 'users:read',
  // the App Home tab: no scope beyond the bot's own (the app_home_opened event needs the Home tab enabled)
  'views.publish': null,
  // a trigger_id is the permission: no scope
  'views.open': null,
};

/** Scopes that come from features rather than methods: the slash command; users.info's profile.email (the audit's approver email). */
export const FEATURE_SCOPES = ['commands', 'users:read.email'] as const;

export function requiredScopes(): string[] {
  const methodScopes = Object.values(METHOD_SCOPES).filter((s): s is string => s !== null);
  return [...new Set([...FEATURE_SCOPES, ...methodScopes])].sort();
}
