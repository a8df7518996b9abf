// What each cmdlet's output must look like once it has crossed the wire. The read cmdlets feed the planner and
// the Edge check, so their objects are checked against the shapes in core/lync.ts; a mismatch is reported as
// an `output` failure naming the cmdlet and the field, rather than surfacing later as a wrong plan.
import { z } from 'zod';
import type { ParamValue } from '../core/types.js';
import { AccessEdgeConfigurationSchema, CmsStatusSchema, HostingProviderSchema, ReplicaStatusSchema } from '../core/lync.js';

const READ_SCHEMAS: Readonly<Record<string, z.ZodType<Record<string, unknown>>>> = {
  'Get-CsAccessEdgeConfiguration': AccessEdgeConfigurationSchema,
  'Get-CsHostingProvider': HostingProviderSchema,
  'Get-CsManagementStoreReplicationStatus': ReplicaStatusSchema,
};

/** Other shapes a read cmdlet has with some parameters: the switch that selects it, and its schema. */
const READ_VARIANTS: Readonly<Record<string, { parameter: string; schema: z.ZodType<Record<string, unknown>> }>> = {
  'Get-CsManagementStoreReplicationStatus': { parameter: 'CentralManagementStoreStatus', schema: CmsStatusSchema },
};

/**
 * The properties the agent reduces each read cmdlet's objects to, in Microsoft's documented order. The real
 * objects carry more (XdsIdentity members, Element, XsAnyElements, Anchor...) that would cost megabytes on the
 * wire and in the stored pre-state; whatever is not listed here never leaves the agent host.
 */
export const PROJECTIONS: Readonly<Record<string, readonly string[]>> = {
  'Get-CsAccessEdgeConfiguration': [
    'Identity', 'AllowAnonymousUsers', 'AllowFederatedUsers', 'AllowOutsideUsers', 'BeClearingHouse', 'EnablePartnerDiscovery',
    'EnableArchivingDisclaimer', 'EnableUserReplicator', 'KeepCrlsUpToDateForPeers', 'MarkSourceVerifiableOnOutgoingMessages',
    'OutgoingTlsCountForFederatedPartners', 'DiscoveredPartnerStandardRate', 'EnableDiscoveredPartnerContactsLimit',
    'MaxContactsPerDiscoveredPartner', 'DiscoveredPartnerReportPeriodMinutes', 'MaxAcceptedCertificatesStored',
    'MaxRejectedCertificatesStored', 'CertificatesDeletedPercentage', 'RoutingMethod', 'DiscoveredPartnerVerificationLevel',
    'DnsSrvCacheRecordCount', 'SkypeSearchUrl', 'DefaultRouteFqdn', 'IsPublicProvider', 'VerificationLevel',
  ],
  'Get-CsHostingProvider': [
    'Identity', 'Name', 'ProxyFqdn', 'VerificationLevel', 'Enabled', 'EnabledSharedAddressSpace', 'HostsOCSUsers', 'IsLocal',
    'AutodiscoverUrl', 'SipClientPort',
  ],
  'Get-CsManagementStoreReplicationStatus': [
    'UpToDate', 'ReplicaFqdn', 'LastStatusReport', 'LastUpdateCreation', 'ProductVersion',
    // with -CentralManagementStoreStatus
    'ActiveMasterFqdn', 'ActiveFileTransferAgents', 'ActiveReplicas', 'DeletedReplicas',
  ],
  'Get-CsHostedVoicemailPolicy': ['Identity', 'Description', 'Destination', 'Organization'],
};

/** Verbs of cmdlets that change state: documented to return nothing; whatever they do return is tolerated. */
const WRITE_VERBS = ['Set', 'New', 'Remove', 'Enable', 'Disable', 'Invoke'];

export type CheckedOutput = { ok: true; output: Record<string, unknown>[] } | { ok: false; message: string };

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Cmdlets we know the output of: reads must match their schema, writes return an empty array. */
export function isKnownCmdlet(cmdlet: string): boolean {
  return cmdlet in READ_SCHEMAS || WRITE_VERBS.includes(cmdlet.split('-')[0] ?? '');
}

/**
 * Checks a cmdlet's output. Writes (and cmdlets without a schema) pass through: objects as they are, scalars
 * as { value }. Reads must be objects of their schema; the message names the cmdlet, the item and the field.
 */
export function checkOutput(cmdlet: string, output: readonly unknown[], parameters: Readonly<Record<string, ParamValue>> = {}): CheckedOutput {
  const variant = READ_VARIANTS[cmdlet];
  const selected = variant && Object.entries(parameters).some(([name, value]) => name.toLowerCase() === variant.parameter.toLowerCase() && value === true);
  const schema = selected ? variant.schema : READ_SCHEMAS[cmdlet];
  if (!schema) return { ok: true, output: output.map((v) => (isRecord(v) ? v : { value: v })) };
  const checked: Record<string, unknown>[] = [];
  for (const [index, item] of output.entries()) {
    const parsed = schema.safeParse(item);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue && issue.path.length > 0 ? `field ${issue.path.join('.')}` : 'the object';
      const got = issue && issue.path.length > 0 && isRecord(item) ? `; got ${describe(item[String(issue.path[0])])}` : '';
      return { ok: false, message: `output of ${cmdlet}: item ${index}: ${field}: ${issue?.message ?? 'invalid'}${got}` };
    }
    checked.push(parsed.data);
  }
  return { ok: true, output: checked };
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
