import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import nodemailer from 'nodemailer';
import type { Config } from './config.ts';
import type { Logger } from './logger.ts';

/** One outgoing e-mail. */
export type MailMessage = { to: string; subject: string; text: string; html?: string };

/** Where a message went: the SMTP message id, or the .eml file written by the default transport. */
export type MailReceipt = { messageId: string; file?: string };

/**
 * Outgoing mail (nodemailer). With `SMTP_URL` it speaks SMTP; without it each message is written
 * as an .eml file under `<STOREOPS_DATA_DIR>/mail`, so development and tests need no mail server
 * (open the file in any mail client, or read it in a test).
 * Bodies often hold one-time codes: they are never logged, only the recipient and the message id.
 */
export function createMailer(deps: { config: Config; logger: Logger }) {
  const { config, logger } = deps;
  const mailDir = path.resolve(config.STOREOPS_DATA_DIR, 'mail');
  const transport = config.SMTP_URL
    ? nodemailer.createTransport(config.SMTP_URL)
    : nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });

  return {
    /** The directory the file transport writes to (undefined when SMTP is configured). */
    mailDir: config.SMTP_URL ? undefined : mailDir,
    /** Sends one message; rejects when the transport fails. */
    async send(message: MailMessage): Promise<MailReceipt> {
      const info = await transport.sendMail({ from: config.MAIL_FROM, ...message });
      let file: string | undefined;
      if (!config.SMTP_URL) {
        await mkdir(mailDir, { recursive: true, mode: 0o700 });
        const stamp = new Date().toISOString().replace(/[:.]/g, '-');
        file = path.join(mailDir, `${stamp}-${randomBytes(4).toString('hex')}.eml`);
        await writeFile(file, (info as { message: Buffer }).message, { mode: 0o600 });
      }
      logger.info({ to: message.to, messageId: info.messageId, file }, 'mail sent');
      return { messageId: info.messageId, file };
    },
  };
}

/** The mail module of one process. */
export type Mailer = ReturnType<typeof createMailer>;
