import { runStreamsService } from '@ecosystem/platform';
import { emailConfig } from './config.ts';
import { createMailer, type Mailer } from './mailer.ts';
import { emailApi } from './openapi.ts';
import { emailRoutes } from './routes.ts';
import { EmailActivity, emailTopology } from './topology.ts';

const activity = new EmailActivity();
let mailer: Mailer | undefined;

await runStreamsService({
  service: 'email-service',
  defaultPort: 8105,
  config: emailConfig,
  topology: ({ serdes, config, logger }) => {
    mailer = createMailer(
      { smtpUrl: config.SMTP_URL, outboxDir: config.OUTBOX_DIR, from: config.MAIL_FROM, smtpTimeoutMs: config.SMTP_TIMEOUT_MS, smtpMaxConnections: config.SMTP_MAX_CONNECTIONS },
      logger,
    );
    logger.info({ transport: mailer.kind, destination: mailer.destination, from: config.MAIL_FROM }, 'emails go here');
    return emailTopology(serdes, { mailer, from: config.MAIL_FROM, activity, logger, emailedRetentionMs: config.EMAILED_RETENTION_MS });
  },
  routes: emailRoutes(activity, () => mailer),
  api: emailApi,
  onClose: async () => mailer?.close(),
});
