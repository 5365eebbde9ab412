// Save a card: Stripe.js confirms the SetupIntent in the browser (card details never reach
// Kassa), then the form posts the SetupIntent id for the server to attach the card.
(function () {
  "use strict";
  var form = document.getElementById("card-form");
  if (!form || typeof Stripe === "undefined") {
    return;
  }
  var stripe = Stripe(form.dataset.key);
  var card = stripe.elements().create("card");
  card.mount("#card-element");
  var status = document.getElementById("card-status");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    status.textContent = form.dataset.working;
    stripe.confirmCardSetup(form.dataset.secret, { payment_method: { card: card } }).then(
      function (result) {
        if (result.error) {
          status.textContent = (result.error && result.error.message) || form.dataset.failed;
          return;
        }
        form.querySelector("[name=setup_intent]").value = result.setupIntent.id;
        form.submit();
      }
    );
  });
})();
