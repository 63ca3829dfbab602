// The login page: carries ?next through the form and shows why a login
// was refused.
const q = new URLSearchParams(location.search);
document.getElementById('next').value = q.get('next') || '';
const reasons = {
  invalid: 'Invalid username or password.',
  locked: 'Too many failed logins for this user; try again later.',
  bad_form: 'The form could not be read; try again.',
  server: 'The server could not sign you in; see its log.',
};
const err = q.get('error');
if (err) {
  const p = document.getElementById('login-error');
  p.textContent = reasons[err] || 'Sign-in failed.';
  p.hidden = false;
}
