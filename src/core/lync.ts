// What the bot knows of a Lync / Skype for Business deployment: the shapes that the read cmdlets return,
// after the agent has turned enums and dates into strings. Property names are Microsoft's.
import { z } from 'zod';

export const VERIFICATION_LEVELS = ['AlwaysVerifiable', 'AlwaysUnverifiable', 'UseSourceVerification'] as const;
export type VerificationLevel = (typeof VERIFICATION_LEVELS)[number];

/** Get-CsAccessEdgeConfiguration: the global Access Edge settings (only the fields the bot reads are required). */
export const AccessEdgeConfigurationSchema = z
  .object({
    Identity: z.string(),
    AllowFederatedUsers: z.boolean(),
    AllowOutsideUsers: z.boolean().optional(),
    AllowAnonymousUsers: z.boolean().optional(),
    EnablePartnerDiscovery: z.boolean().optional(),
    RoutingMethod: z.string(),
  })
  .passthrough();
export type AccessEdgeConfiguration = z.infer<typeof AccessEdgeConfigurationSchema>;

/** Get-CsHostingProvider: one hosting provider. */
export const HostingProviderSchema = z
  .object({
    Identity: z.string(),
    ProxyFqdn: z.string(),
    VerificationLevel: z.enum(VERIFICATION_LEVELS),
    Enabled: z.boolean(),
    EnabledSharedAddressSpace: z.boolean(),
    HostsOCSUsers: z.boolean(),
    IsLocal: z.boolean(),
    AutodiscoverUrl: z.string().nullable().optional(),
    SipClientPort: z.number().int().optional(),
  })
  .passthrough();
export type HostingProvider = z.infer<typeof HostingProviderSchema>;

/** Get-CsManagementStoreReplicationStatus: one replica. Dates are ISO 8601 strings, null when never reported. */
export const ReplicaStatusSchema = z
  .object({
    UpToDate: z.boolean(),
    ReplicaFqdn: z.string(),
    LastStatusReport: z.string().nullable(),
    LastUpdateCreation: z.string().nullable(),
    ProductVersion: z.string().nullable(),
  })
  .passthrough();
export type ReplicaStatus = z.infer<typeof ReplicaStatusSchema>;

/** Get-CsManagementStoreReplicationStatus -CentralManagementStoreStatus: where the CMS master and its agents are. */
export const CmsStatusSchema = z
  .object({
    ActiveMasterFqdn: z.string().nullable(),
    ActiveFileTransferAgents: z.array(z.string()).nullable().optional(),
    ActiveReplicas: z.array(z.string()).nullable().optional(),
    DeletedReplicas: z.array(z.string()).nullable().optional(),
  })
  .passthrough();
export type CmsStatus = z.infer<typeof CmsStatusSchema>;
