/**
 * The sans-IO core of the client. It never touches the network, a timer or a clock: every
 * function takes what arrived (a delivery, a user action, the time) and a set of stores bound to
 * one storage transaction, and returns what should happen next (events to emit after the commit,
 * deliveries to submit, device bundles to fetch). Its store writes go into that transaction, which
 * the shell commits (or drops, when anything throws): ratchet state, the decrypted message, the
 * "processed" marker and any receipt queued in the outbox become durable together or not at all.
 * See `spec/client.md` §3.
 *
 * @module
 */

export {
  type ArchiveTarget,
  archiveAfterReceive,
  archiveGapCount,
  archiveTarget,
  type ConversationArchiveState,
  conversationArchiveState,
  conversationDestination,
  noteArchiveGap,
  PEER_POOLS_TTL_MS,
  peerPools,
  type ReceiveArchiveInput,
  rememberPeerPools,
} from './archive.js';
export {
  type Capabilities,
  type Capability,
  type CapabilityMap,
  capabilitiesOf,
  checkFileDownload,
  checkFileSend,
  checkForward,
  checkTimer,
  restrictionValues,
  SDK_ENFORCED,
} from './capabilities.js';
export {
  type DeliveryTarget,
  deliveryTargets,
  deviceKey,
  devicesToStart,
  MAX_SUBMISSION_BYTES,
  MAX_SUBMISSION_ITEMS,
  type PlannedEntry,
  planEntry,
  type SealedCopy,
  sealDeliveries,
  submissionBatches,
  usersToLookUp,
} from './delivery-plan.js';
export {
  type AcceptedLists,
  acceptDeviceLists,
  acceptHeldList,
  admittedEntry,
  type DeviceListPin,
  loadPin,
  setPinVerified,
} from './device-lists.js';
export { acceptDirectory, type ListedDevice, sameDevice } from './directory.js';
export { ackFrame, parseServerFrame, type ServerFrame } from './frames.js';
export {
  loadGroup,
  makeGroupChange,
  type StoredGroup,
  saveGroup,
} from './groups.js';
export { HELD_CLOCK_SKEW_MS, HELD_GROUP_CONTENT_MS, MAX_HELD_PER_SENDER } from './held.js';
export { toClientMessage } from './history.js';
export {
  ARCHIVE_CONVERSATION_LABEL,
  archiveConversationId,
  DELIVERY_ID_LABEL,
  deliveryId,
  directConversationId,
  groupConversationId,
  localMessageId,
} from './ids.js';
export { type ArchiveRequest, decodeJob, encodeJob, enqueueJob, type OutboxJob } from './jobs.js';
export {
  acceptBroadcasts,
  acceptDelegations,
  acceptPolicyLayers,
  broadcastsNeedPools,
  type ClientBroadcast,
  certificateDelegated,
  loadArchiveState,
  MAX_KEPT_DELEGATIONS,
  MAX_ORGANISATION_LIST,
  type OrganisationAnswer,
  type OrganisationSelf,
  parseOrganisationAnswer,
  SENDER_CERTIFICATE_MIN_LIFETIME_MS,
  type SignedLayers,
  saveArchiveState,
  verifyWipe,
} from './organisation.js';
export {
  type ComposeInput,
  composeGroupChange,
  composeMessage,
  groupHex,
  type Recipient,
  type ResolvedRecipient,
  resolveRecipient,
} from './outgoing.js';
export {
  ARCHIVE_CONTENT_TYPE,
  archivePublicKey,
  conversationGroupHex,
  messageExpiry,
  parsePolicy,
  policyForConversation,
  signedPolicy,
  signedPolicyParts,
} from './policy.js';
export {
  LAST_RESORT_BASE,
  lastResortKemId,
  planRotation,
  type RotationPlan,
  SIGNED_PREKEY_KEEP_MS,
  SIGNED_PREKEY_ROTATION_MS,
} from './prekeys.js';
export { MAX_QUARANTINED_PER_USER } from './quarantine.js';
export { MAX_RECEIPT_IDS, queueReadReceipts } from './receipts.js';
export {
  isOrganisationEnvelope,
  PROCESSED_TTL_MS,
  quarantinedCount,
  type ReceiveInput,
  type ReceiveOutcome,
  receiveDelivery,
  releaseQuarantine,
  SESSION_RESET_INTERVAL_MS,
  wasProcessed,
} from './receive.js';
export {
  acceptRevocations,
  type CertificateNames,
  certificateRefusal,
  loadRevocationState,
  type RevocationSelf,
  type RevocationState,
  refusedCertificate,
} from './revocations.js';
export { hasSession, sealForDevice } from './seal.js';
export {
  type ArchiveState,
  type ClientEvent,
  type ClientMessage,
  type ClientPolicy,
  CONTENT_TYPE_DEVICE_MESSAGE,
  type CoreSelf,
  type CoreTx,
  type DirectoryDevice,
  featureEnabled,
  type GroupPolicy,
} from './types.js';
