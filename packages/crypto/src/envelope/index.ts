/**
 * Sealed envelopes and sender certificates (R05). See spec/envelope.md and spec/metadata.md.
 *
 * @module
 */
export {
  CERTIFICATE_MAX_BYTES,
  CERTIFICATE_MAX_POOLS,
  CERTIFICATE_MAX_STRING_BYTES,
  decodeSenderCertificate,
  encodeSenderCertificate,
  issueSenderCertificate,
  SENDER_CERTIFICATE_LABEL,
  type SenderCertificate,
  SenderCertificateError,
  type SenderCertificateFields,
  type SenderCertificateProblem,
  type VerifySenderCertificateOptions,
  verifySenderCertificate,
} from './certificate.js';
export {
  DELIVERY_TOKEN_MAX_BYTES,
  ENVELOPE_KIND_ORGANISATION,
  ENVELOPE_KIND_SHARED,
  ENVELOPE_KIND_SINGLE,
  ENVELOPE_MAX_BODY_BYTES,
  ENVELOPE_MAX_BYTES,
  ENVELOPE_MAX_RECIPIENTS,
  ENVELOPE_VERSION,
  type EnvelopeContent,
  type EnvelopeOuter,
  type EnvelopeRecipient,
  MAILBOX_MAX_BYTES,
  MAILBOX_MIN_BYTES,
  type OpenEnvelopeOptions,
  type OpenedEnvelope,
  type OpenedOrganisationEnvelope,
  type OpenOrganisationEnvelopeOptions,
  openEnvelope,
  openOrganisationEnvelope,
  peekEnvelopeOuter,
  type SealEnvelopeForManyOptions,
  type SealEnvelopeOptions,
  type SealOrganisationEnvelopesOptions,
  sealEnvelope,
  sealEnvelopeForMany,
  sealOrganisationEnvelopes,
} from './envelope.js';
