use super::*;

fn sale(lines: &[(i64, i64)], pays: &[(PaymentMethod, i64)], discount: i64) -> SaleInput {
    SaleInput {
        id: Uuid::from_u128(1),
        lineas: lines
            .iter()
            .map(|(q, p)| SaleLineInput {
                producto_id: Uuid::from_u128(2),
                cantidad: *q,
                precio_unitario: *p,
                descuento: 0,
            })
            .collect(),
        pagos: pays
            .iter()
            .map(|(m, a)| PaymentInput {
                metodo: *m,
                monto: *a,
            })
            .collect(),
        cliente_id: None,
        descuento: discount,
        autorizacion: None,
    }
}

use PaymentMethod::{Efectivo, Tarjeta};

#[test]
fn cash_overpayment_gives_change() {
    let v = sale(&[(2, 50_000)], &[(Efectivo, 120_000)], 0)
        .validate()
        .unwrap();
    assert_eq!(v.total.centavos(), 100_000);
    assert_eq!(v.change.centavos(), 20_000);
    assert_eq!(v.kind, PaymentKind::Efectivo);
}

#[test]
fn mixed_payment_with_discount_balances() {
    let v = sale(
        &[(1, 129_900), (1, 50_000)],
        &[(Tarjeta, 100_000), (Efectivo, 70_000)],
        10_000,
    )
    .validate()
    .unwrap();
    assert_eq!(v.subtotal.centavos(), 179_900);
    assert_eq!(v.total.centavos(), 169_900);
    assert_eq!(v.change.centavos(), 100);
    assert_eq!(v.kind, PaymentKind::Mixto);
}

#[test]
fn a_line_discount_comes_off_before_the_ticket_discount() {
    let mut input = sale(&[(2, 50_000), (1, 30_000)], &[(Efectivo, 200_000)], 1_000);
    input.lineas[0].descuento = 10_000;
    let v = input.validate().unwrap();
    assert_eq!(v.lines[0].amount.centavos(), 90_000);
    assert_eq!(v.subtotal.centavos(), 120_000);
    assert_eq!(v.total.centavos(), 119_000);
    input.lineas[1].descuento = 30_001;
    assert!(input
        .validate()
        .unwrap_err()
        .get("lineas[1].descuento")
        .is_some());
}

#[test]
fn short_payment_card_overpayment_and_bad_lines_are_refused() {
    assert!(sale(&[(1, 1000)], &[(Efectivo, 999)], 0)
        .validate()
        .unwrap_err()
        .get("pagos")
        .is_some());
    assert!(sale(&[(1, 1000)], &[(Tarjeta, 1001)], 0)
        .validate()
        .unwrap_err()
        .get("pagos")
        .is_some());
    assert!(sale(&[], &[(Efectivo, 1)], 0)
        .validate()
        .unwrap_err()
        .get("lineas")
        .is_some());
    assert!(sale(&[(0, 1000)], &[(Efectivo, 1000)], 0)
        .validate()
        .unwrap_err()
        .get("lineas[0].cantidad")
        .is_some());
    assert!(sale(&[(1, -5)], &[(Efectivo, 1000)], 0)
        .validate()
        .unwrap_err()
        .get("lineas[0].precio_unitario")
        .is_some());
    assert!(sale(&[(1, 1000)], &[(Efectivo, 1000)], 1001)
        .validate()
        .unwrap_err()
        .get("descuento")
        .is_some());
    assert!(sale(&[(1, 1000)], &[], 0)
        .validate()
        .unwrap_err()
        .get("pagos")
        .is_some());
}
