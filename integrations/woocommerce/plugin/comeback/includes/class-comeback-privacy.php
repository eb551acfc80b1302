<?php
/**
 * WordPress's privacy tools (Tools → Export / Erase Personal Data) reach what Comeback holds on
 * a shopper: the exporter and the eraser forward the email address to the app (signed, the
 * body's hash included) and turn its answer into WordPress's items.
 *
 * @package Comeback
 */

defined( 'ABSPATH' ) || exit;

/**
 * Personal data exporter and eraser.
 */
final class Comeback_Privacy {

	/**
	 * Hook into WordPress.
	 */
	public static function register() {
		add_filter( 'wp_privacy_personal_data_exporters', array( __CLASS__, 'exporters' ) );
		add_filter( 'wp_privacy_personal_data_erasers', array( __CLASS__, 'erasers' ) );
		add_action( 'admin_init', array( __CLASS__, 'policy_text' ) );
	}

	/**
	 * Register the exporter.
	 *
	 * @param array $exporters The exporters.
	 * @return array
	 */
	public static function exporters( $exporters ) {
		$exporters['comeback'] = array(
			'exporter_friendly_name' => __( 'Comeback rewards', 'comeback' ),
			'callback'               => array( __CLASS__, 'export' ),
		);
		return $exporters;
	}

	/**
	 * Register the eraser.
	 *
	 * @param array $erasers The erasers.
	 * @return array
	 */
	public static function erasers( $erasers ) {
		$erasers['comeback'] = array(
			'eraser_friendly_name' => __( 'Comeback rewards', 'comeback' ),
			'callback'             => array( __CLASS__, 'erase' ),
		);
		return $erasers;
	}

	/**
	 * Export: one request (the app answers everything at once).
	 *
	 * @param string $email The person's email address.
	 * @param int    $page  Page of the export (only 1 is asked for).
	 * @return array
	 */
	public static function export( $email, $page = 1 ) {
		if ( ! Comeback_Connection::is_connected() || (int) $page > 1 ) {
			return array(
				'data' => array(),
				'done' => true,
			);
		}
		$answer = Comeback_Connection::post_signed( '/woocommerce/privacy/export', array( 'email' => (string) $email ) );
		if ( is_wp_error( $answer ) ) {
			// WordPress shows an exporter's error to the administrator and stops the export.
			return $answer;
		}
		return array(
			'data' => self::export_items( $answer ),
			'done' => true,
		);
	}

	/**
	 * The app's export as WordPress export items.  Items already in WordPress's shape (`data` of
	 * `{group_id, group_label, item_id, data: [{name, value}]}`) are kept.  Otherwise the app's
	 * JSON (`{"email", "request_id", "exports": [{"customer": {...}, "orders": [...], ...}]}`)
	 * becomes one group per section: a record per item, a list's records one item each, a
	 * record's own lists their own group; loose values go in a first "Comeback" item.
	 *
	 * @param array $answer The app's JSON.
	 * @return array
	 */
	public static function export_items( array $answer ) {
		if ( isset( $answer['data'] ) && is_array( $answer['data'] ) && ( array() === $answer['data'] || isset( $answer['data'][0]['group_id'] ) ) ) {
			return $answer['data'];
		}
		$sections = $answer;
		if ( isset( $answer['exports'] ) && is_array( $answer['exports'] ) && self::is_list( $answer['exports'] ) ) {
			unset( $sections['exports'] );
			foreach ( $answer['exports'] as $index => $export ) {
				foreach ( (array) $export as $name => $value ) {
					$sections[ $index ? $name . '_' . ( $index + 1 ) : $name ] = $value;
				}
			}
		}
		$items   = array();
		$summary = array();
		foreach ( $sections as $section => $value ) {
			if ( ! is_array( $value ) ) {
				$summary[] = self::field( (string) $section, $value );
			} else {
				self::add_records( $items, (string) $section, self::label( (string) $section ), $value );
			}
		}
		if ( $summary ) {
			array_unshift(
				$items,
				array(
					'group_id'    => 'comeback',
					'group_label' => __( 'Comeback', 'comeback' ),
					'item_id'     => 'comeback',
					'data'        => $summary,
				)
			);
		}
		return $items;
	}

	/**
	 * One section's records as items (a record's lists of records become their own group).
	 *
	 * @param array  $items  The items so far.
	 * @param string $key    The section's key path.
	 * @param string $label  The section's label.
	 * @param array  $value  The section.
	 * @param string $prefix The parent records' indexes (item ids stay unique).
	 */
	private static function add_records( array &$items, $key, $label, array $value, $prefix = '' ) {
		$records = self::is_list( $value ) ? $value : array( $value );
		foreach ( $records as $index => $record ) {
			$fields = array();
			$nested = array();
			foreach ( is_array( $record ) ? $record : array( 'value' => $record ) as $name => $field ) {
				if ( is_array( $field ) && self::is_list( $field ) && $field && is_array( reset( $field ) ) ) {
					$nested[ (string) $name ] = $field;
				} else {
					$fields[] = self::field( (string) $name, $field );
				}
			}
			if ( $fields ) {
				$items[] = array(
					'group_id'    => 'comeback-' . sanitize_key( $key ),
					/* translators: %s: a section of the data Comeback holds (e.g. "Customer") */
					'group_label' => sprintf( __( 'Comeback: %s', 'comeback' ), $label ),
					'item_id'     => 'comeback-' . sanitize_key( $key ) . '-' . $prefix . $index,
					'data'        => $fields,
				);
			}
			foreach ( $nested as $name => $list ) {
				self::add_records( $items, $key . '-' . $name, $label . ' › ' . self::label( $name ), $list, $prefix . $index . '-' );
			}
		}
	}

	/**
	 * One name/value pair of an item.
	 *
	 * @param string $name  JSON key.
	 * @param mixed  $value JSON value.
	 * @return array
	 */
	private static function field( $name, $value ) {
		return array(
			'name'  => self::label( $name ),
			'value' => self::text( $value ),
		);
	}

	/**
	 * Erase what the app holds on the person.
	 *
	 * @param string $email The person's email address.
	 * @param int    $page  Page of the erasure (only 1 is asked for).
	 * @return array
	 */
	public static function erase( $email, $page = 1 ) {
		$result = array(
			'items_removed'  => false,
			'items_retained' => false,
			'messages'       => array(),
			'done'           => true,
		);
		if ( ! Comeback_Connection::is_connected() || (int) $page > 1 ) {
			return $result;
		}
		$answer = Comeback_Connection::post_signed( '/woocommerce/privacy/erase', array( 'email' => (string) $email ) );
		if ( is_wp_error( $answer ) ) {
			return $answer;
		}
		// `customers` / `orders`: how many the app erased (none: nothing was held on that address).
		$found                   = isset( $answer['customers'] ) || isset( $answer['orders'] )
			? (int) ( $answer['customers'] ?? 0 ) + (int) ( $answer['orders'] ?? 0 ) > 0
			: true;
		$result['items_removed'] = ! empty( $answer['erased'] ) && $found;
		if ( ! empty( $answer['retained'] ) ) {
			$result['items_retained'] = true;
		}
		foreach ( (array) ( $answer['messages'] ?? array() ) as $message ) {
			$result['messages'][] = (string) $message;
		}
		return $result;
	}

	/**
	 * Suggested text for the store's privacy policy.
	 */
	public static function policy_text() {
		if ( ! function_exists( 'wp_add_privacy_policy_content' ) ) {
			return;
		}
		wp_add_privacy_policy_content(
			__( 'Comeback', 'comeback' ),
			wp_kses_post(
				wpautop(
					__( 'This store uses Comeback for its rewards program, referrals, surveys and emails. When you shop, Comeback receives your account and order details (name, email address, phone number, orders) to keep your points, tiers, rewards and referrals, and to send the messages you agreed to. You can ask the store to export or erase this data.', 'comeback' )
				)
			)
		);
	}

	/**
	 * "loyalty_account" → "Loyalty account".
	 *
	 * @param string $key A JSON key.
	 * @return string
	 */
	private static function label( $key ) {
		return ucfirst( str_replace( '_', ' ', $key ) );
	}

	/**
	 * A JSON value as text.
	 *
	 * @param mixed $value The value.
	 * @return string
	 */
	private static function text( $value ) {
		if ( is_bool( $value ) ) {
			return $value ? __( 'yes', 'comeback' ) : __( 'no', 'comeback' );
		}
		if ( null === $value ) {
			return '';
		}
		return is_scalar( $value ) ? (string) $value : (string) wp_json_encode( $value );
	}

	/**
	 * Whether an array is a JSON list.
	 *
	 * @param array $value The array.
	 * @return bool
	 */
	private static function is_list( array $value ) {
		return array() === $value || array_keys( $value ) === range( 0, count( $value ) - 1 );
	}
}
