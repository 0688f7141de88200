// Values the examples of @cloister/server (relay, routes, delivery) take as given.
declare const server: import('@cloister/server').CloisterServer;
declare const ctx: import('@cloister/server').ServerContext;
declare const app: import('fastify').FastifyInstance;
declare const request: import('fastify').FastifyRequest;
declare const reply: import('fastify').FastifyReply;
declare const me: import('@cloister/server').DeviceAuth;
declare const tenant: import('@cloister/protocol').TenantId;
declare const user: import('@cloister/protocol').UserId;
declare const device: import('@cloister/crypto').DeviceId;
declare const mailbox: import('@cloister/protocol').MailboxId;
declare const credential: Uint8Array;
declare const storageKey: Uint8Array;
declare const enrolmentToken: string;
declare const enrolmentInput: import('@cloister/server').EnrolmentInput;
declare const sealBytes: Uint8Array;
declare const pushSecret: string;
declare const rawBody: Uint8Array;
