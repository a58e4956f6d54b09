// The one masking rule for everything the CLI prints, --json included: a password in a URL's user
// info (mqtt://user:secret@host → mqtt://user:***@host) and the value of any *password*=… setting
// (password=, mqttPassword=, as given to mcconfig) become ***. User names and hosts stay readable, so
// an operator can still tell which broker and account a line is about.
const URL_PASSWORD = /(\b[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s/:@"']*:)[^\s/@"']*@/g;
const PASSWORD_SETTING = /(\b[A-Za-z0-9_-]*password[A-Za-z0-9_-]*"?\s*[=:]\s*"?)([^\s"&,]+)/gi;

export const MASK = '***';

export function redact(text: string): string {
  return text.replace(URL_PASSWORD, `$1${MASK}@`).replace(PASSWORD_SETTING, (all, head: string, value: string) => (value === MASK ? all : `${head}${MASK}`));
}
