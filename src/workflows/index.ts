export { privacyRequestTicket } from './privacy-request-ticket.js';
