// Values the examples of @cloister/server (relay, routes, delivery) take as given.
// A running server, its shared state, and a route's Fastify instance, request and reply:
declare const server: import('@cloister/server').CloisterServer;
declare const ctx: import('@cloister/server').ServerContext;
declare const app: import('fastify').FastifyInstance;
declare const request: import('fastify').FastifyRequest;
declare const reply: import('fastify').FastifyReply;
// The authenticated caller, and the ids of a tenant, user, device and mailbox:
declare const me: import('@cloister/server').DeviceAuth;
declare const tenant: import('@cloister/protocol').TenantId;
declare const user: import('@cloister/protocol').UserId;
declare const device: import('@cloister/crypto').DeviceId;
declare const mailbox: import('@cloister/protocol').MailboxId;
// A device credential (32 bytes), the organisation's storage key, an enrolment token as shown:
declare const credential: Uint8Array;
declare const storageKey: Uint8Array;
declare const enrolmentToken: string;
declare const enrolmentInput: import('@cloister/server').EnrolmentInput;
// An archive seal travelling with a submission:
declare const sealBytes: Uint8Array;
// The push webhook's shared secret, and a hint's request body exactly as received:
declare const pushSecret: string;
declare const rawBody: Uint8Array;
declare const limiter: import('@cloister/server').RateLimiter;
// A client's view: an HTTP answer, the effective policy, the delivery WebSocket:
declare const response: Response;
declare const policy: import('@cloister/server').EffectivePolicyResponse;
declare const socket: WebSocket;
// The server's TLS certificate and key:
declare const tls: import('@cloister/server').TlsMaterial;
