use super::*;
use crate::api::sales::SaleLine;

const A: Uuid = Uuid::from_u128(10);
const B: Uuid = Uuid::from_u128(11);

fn sale(lines: &[(Uuid, i64, i64)], discount: i64) -> Sale {
    let subtotal: i64 = lines.iter().map(|(_, q, p)| q * p).sum();
    Sale {
        id: Uuid::from_u128(1),
        folio: "TA-C01-000001".into(),
        tienda_id: Uuid::from_u128(2),
        dispositivo_id: None,
        cajero_id: Uuid::from_u128(3),
        cliente_id: None,
        lineas: lines
            .iter()
            .map(|(p, q, price)| SaleLine {
                producto_id: *p,
                sku: "X".into(),
                nombre: "Zapato".into(),
                cantidad: *q,
                precio_unitario: *price,
                descuento: 0,
                importe: q * price,
            })
            .collect(),
        pagos: vec![Payment {
            metodo: PaymentMethod::Efectivo,
            monto: subtotal - discount,
        }],
        forma_pago: PaymentKind::Efectivo,
        subtotal,
        descuento: discount,
        total: subtotal - discount,
        cambio: 0,
        creada: "2026-11-28T10:00:00Z".into(),
        tipo: SaleKind::Venta,
        venta_original_id: None,
        motivo: String::new(),
        autorizacion: Default::default(),
        autorizo_id: None,
    }
}

fn back(lines: &[(Uuid, i64)]) -> ReturnInput {
    ReturnInput {
        id: Uuid::from_u128(99),
        venta_id: Uuid::from_u128(1),
        lineas: lines
            .iter()
            .map(|(p, q)| ReturnLineInput {
                producto_id: *p,
                cantidad: *q,
            })
            .collect(),
        reembolso: PaymentMethod::Efectivo,
        motivo: "No le quedó".into(),
        cancelacion: false,
    }
}

/// The stored record of a valid return, as `earlier` for the next one.
fn stored(sale: &Sale, valid: &ValidReturn) -> Sale {
    let id = Uuid::from_u128(1000 + valid.refund.centavos() as u128);
    valid.record(sale, id, "TA-C01-000002".into(), PaymentMethod::Efectivo)
}

#[test]
fn a_partial_return_refunds_its_share_of_the_discounted_total() {
    let s = sale(&[(A, 2, 100_000), (B, 1, 50_000)], 25_000);
    let v = back(&[(A, 1)]).validate(&s, &[]).unwrap();
    assert_eq!(v.subtotal.centavos(), 100_000);
    // 100,000 × 225,000 / 250,000
    assert_eq!(v.refund.centavos(), 90_000);
    assert_eq!(v.kind, SaleKind::Devolucion);
}

#[test]
fn refunds_never_add_up_to_more_than_was_paid() {
    let s = sale(&[(A, 3, 33_333)], 1);
    let mut earlier = Vec::new();
    let mut refunded = 0;
    for _ in 0..3 {
        let v = back(&[(A, 1)]).validate(&s, &earlier).unwrap();
        refunded += v.refund.centavos();
        earlier.push(stored(&s, &v));
    }
    assert_eq!(refunded, s.total);
    let err = back(&[(A, 1)]).validate(&s, &earlier).unwrap_err();
    assert!(err.get("lineas[0].cantidad").is_some(), "{err:?}");
}

#[test]
fn a_void_takes_back_everything_and_only_before_any_return() {
    let s = sale(&[(A, 2, 100_000), (B, 1, 50_000)], 10_000);
    let mut void = back(&[]);
    void.cancelacion = true;
    let v = void.validate(&s, &[]).unwrap();
    assert_eq!(v.kind, SaleKind::Cancelacion);
    assert_eq!(v.refund.centavos(), s.total);
    assert_eq!(v.lines.iter().map(|l| l.quantity.get()).sum::<i64>(), 3);

    let partial = back(&[(B, 1)]).validate(&s, &[]).unwrap();
    let err = void.validate(&s, &[stored(&s, &partial)]).unwrap_err();
    assert!(err.get("cancelacion").is_some());
}

#[test]
fn bad_returns_say_what_is_wrong_at_the_field() {
    let s = sale(&[(A, 1, 100_000)], 0);
    assert!(back(&[(B, 1)])
        .validate(&s, &[])
        .unwrap_err()
        .get("lineas[0].producto_id")
        .is_some());
    assert!(back(&[(A, 2)])
        .validate(&s, &[])
        .unwrap_err()
        .get("lineas[0].cantidad")
        .is_some());
    assert!(back(&[(A, -1)])
        .validate(&s, &[])
        .unwrap_err()
        .get("lineas[0].cantidad")
        .is_some());
    assert!(back(&[])
        .validate(&s, &[])
        .unwrap_err()
        .get("lineas")
        .is_some());
    let mut no_reason = back(&[(A, 1)]);
    no_reason.motivo = "  ".into();
    assert!(no_reason
        .validate(&s, &[])
        .unwrap_err()
        .get("motivo")
        .is_some());
    let v = back(&[(A, 1)]).validate(&s, &[]).unwrap();
    assert!(back(&[(A, 1)])
        .validate(&stored(&s, &v), &[])
        .unwrap_err()
        .get("venta_id")
        .is_some());
}
